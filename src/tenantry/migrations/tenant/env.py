"""Data-plane migrations: run once per schema, whose name comes in `attributes["schema"]`."""

from alembic import context
from sqlalchemy import text

from tenantry.data import models  # noqa: F401  (registers the tables)
from tenantry.db.base import DataPlaneBase
from tenantry.db.migrate import run_offline_unsupported
from tenantry.db.schema_names import quote

if context.is_offline_mode():
    run_offline_unsupported()

config = context.config
connection = config.attributes["connection"]
schema = config.attributes["schema"]
connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:schema))"), {"schema": schema})
connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
connection.exec_driver_sql(f"SET LOCAL search_path TO {quote(schema)}")
context.configure(
    connection=connection,
    target_metadata=DataPlaneBase.metadata,
    version_table_schema=schema,
)
with context.begin_transaction():
    context.run_migrations()
