"""The hotpath peer's WSGI application, for gunicorn: `gunicorn benchsite.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.hotpath_settings")

application = get_wsgi_application()
