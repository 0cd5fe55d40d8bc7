"""Data-plane revisions. The server never runs this file: `tenantry.db.migrate` renders the
revisions to SQL and runs them in each schema. It serves Alembic's own commands, which
write new revisions; run against a database, it works in schema `public`."""

from alembic import context

from tenantry.db.base import TEMPLATE_SCHEMA, DataPlaneBase
from tenantry.models import data  # noqa: F401  (registers the tables)

config = context.config
context.configure(
    url=config.get_main_option("sqlalchemy.url"),
    target_metadata=DataPlaneBase.metadata,
    version_table_schema=TEMPLATE_SCHEMA,
    literal_binds=True,
    dialect_name="postgresql",
)
with context.begin_transaction():
    context.run_migrations()
