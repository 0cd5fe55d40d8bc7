# ruff: noqa: RUF012  (Django declares dependencies and operations as class-level lists)

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="client",
            name="api_key_sha256",
            field=models.CharField(max_length=64, null=True, unique=True),
        ),
    ]
