"""The shared (public schema) models django-tenants needs: tenants and their domains."""

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Client(TenantMixin):
    name = models.CharField(max_length=100)
    created_on = models.DateField(auto_now_add=True)


class Domain(DomainMixin):
    pass
