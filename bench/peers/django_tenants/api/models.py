"""Tenantry's spaces tables, read and written as they are: Django never manages them."""

from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models.functions import Now


class Space(models.Model):
    space_id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    name = models.CharField(max_length=200)
    description = models.TextField(null=True)
    metadata = models.JSONField(db_default={})
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        managed = False
        db_table = "spaces"


class SpaceBackground(models.Model):
    space = models.OneToOneField(
        Space,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_column="space_id",
        related_name="background",
    )
    content_type = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        managed = False
        db_table = "space_backgrounds"
