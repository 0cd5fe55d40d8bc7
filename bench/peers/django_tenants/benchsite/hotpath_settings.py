"""Settings of the hotpath peer: the base settings, serving the spaces API with Django REST
Framework from schemas that Tenantry made.

django-tenants' shared tables live in a schema of their own (`django_shared`), so that
nothing of Django's goes into `public`, which is Tenantry's template. The tenant app `api`
has unmanaged models over Tenantry's tables: Django never creates or migrates them.
"""

from benchsite.settings import *  # noqa: F403
from benchsite.settings import DATABASES

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
TIME_ZONE = "UTC"

PUBLIC_SCHEMA_NAME = "django_shared"
TENANT_LIMIT_SET_CALLS = True  # `SET search_path` once per tenant switch, not per cursor

DATABASES["default"]["CONN_MAX_AGE"] = None  # one persistent connection per thread
DATABASES["default"]["OPTIONS"]["application_name"] = "django"

SHARED_APPS = ["django_tenants", "django.contrib.contenttypes", "customers"]
TENANT_APPS = ["api"]
INSTALLED_APPS = [*SHARED_APPS, "rest_framework", *TENANT_APPS]

MIDDLEWARE = ["api.middleware.TenantFromApiKey"]
ROOT_URLCONF = "api.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
