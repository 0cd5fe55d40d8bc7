"""Control-plane migrations: schema `tenantry`, one version table there."""

from alembic import context

from tenantry.db.base import CONTROL_SCHEMA, ControlPlaneBase
from tenantry.db.migrate import MIGRATION_LOCK, run_offline_unsupported
from tenantry.models import control  # noqa: F401  (registers the tables)

if context.is_offline_mode():
    run_offline_unsupported()

connection = context.config.attributes["connection"]
connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{CONTROL_SCHEMA}"')
context.configure(
    connection=connection,
    target_metadata=ControlPlaneBase.metadata,
    version_table_schema=CONTROL_SCHEMA,
    include_schemas=True,
    include_name=lambda name, type_, _: type_ != "schema" or name == CONTROL_SCHEMA,
)
with context.begin_transaction():
    context.run_migrations()
