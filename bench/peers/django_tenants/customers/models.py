"""The shared (public schema) models django-tenants needs: tenants and their domains."""

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Client(TenantMixin):
    name = models.CharField(max_length=100)
    created_on = models.DateField(auto_now_add=True)
    # SHA-256 (hex) of the tenant's API key; only the hotpath peer sets it.
    api_key_sha256 = models.CharField(max_length=64, null=True, unique=True)


class Domain(DomainMixin):
    pass
