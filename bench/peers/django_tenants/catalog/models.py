"""The tables of every tenant schema, as Tenantry's tenant migrations 0001 and 0002 make them."""

from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models.functions import Now


class TenantModel(models.Model):
    tenant_model_id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    name = models.CharField(max_length=200)
    description = models.TextField(null=True)
    model_id = models.CharField(max_length=200, null=True)
    alias = models.CharField(max_length=200, null=True)
    is_enabled = models.BooleanField(db_default=True)
    overrides = models.JSONField(db_default={})
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "tenant_models"
        indexes = (
            models.Index(
                fields=("created_at", "tenant_model_id"), name="ix_tenant_models_created_at"
            ),
        )


class Space(models.Model):
    space_id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    name = models.CharField(max_length=200)
    description = models.TextField(null=True)
    metadata = models.JSONField(db_default={})
    color = models.CharField(max_length=32, null=True)  # migration 0002
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "spaces"
        indexes = (
            models.Index(fields=("created_at", "space_id"), name="ix_spaces_created_at_space_id"),
            models.Index(fields=("color",), name="ix_spaces_color"),  # migration 0002
        )


class SpaceBackground(models.Model):
    # Django 5.2 has no database-level ON DELETE CASCADE, so migration 0001 adds the foreign
    # key itself, as Tenantry declares it.
    space = models.OneToOneField(
        Space,
        on_delete=models.CASCADE,
        primary_key=True,
        db_column="space_id",
        db_constraint=False,
        related_name="background",
    )
    content_type = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "space_backgrounds"
