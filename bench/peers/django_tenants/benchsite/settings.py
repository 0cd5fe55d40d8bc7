"""Settings of the django-tenants benchmark peer: one shared app, one tenant app.

The database comes from the DATABASE_URL environment variable, a libpq URL such as
``postgresql://postgres@127.0.0.1:5432/bench_django_tenants`` or, over a unix socket,
``postgresql://postgres@/bench_django_tenants?host=/tmp/sock``.
"""

import os
import secrets
from typing import Any

from psycopg.conninfo import conninfo_to_dict

DEBUG = False
ALLOWED_HOSTS = [".localhost"]
# Nothing is signed: a fresh key each process keeps a secret out of the source.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def database_from_url(url: str) -> dict[str, Any]:
    """A Django DATABASES entry for django-tenants' backend from a libpq URL or DSN."""
    params: dict[str, Any] = conninfo_to_dict(url)
    name = params.pop("dbname", None)
    if not name:
        raise ValueError(f"the database URL names no database: {url!r}")
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": name,
        "USER": params.pop("user", ""),
        "PASSWORD": params.pop("password", ""),
        "HOST": params.pop("host", ""),
        "PORT": params.pop("port", ""),
        "OPTIONS": params,  # anything else (sslmode, ...) goes to libpq as it is
    }


DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

# django_tenants' database backend imports ContentType, so contenttypes must be installed.
SHARED_APPS = ["django_tenants", "django.contrib.contenttypes", "customers"]
TENANT_APPS = ["catalog"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "customers.Client"
TENANT_DOMAIN_MODEL = "customers.Domain"

MIDDLEWARE = ["django_tenants.middleware.main.TenantMainMiddleware"]
ROOT_URLCONF = "benchsite.urls"
