"""Requests per database, API key and day (`tenantry.traffic`), for the admin's dashboard:
counts of requests, client errors (4xx) and server errors (5xx), and of requests per
latency bucket (`tenantry.traffic.LATENCY_BOUNDS_MS`, then slower).

No foreign keys: counts are added in batches, and a batch must not fail because a
database was deleted meanwhile; the dashboard reads those of existing databases, and the
worker deletes days older than the retention (`tenantry.traffic`).

Revision ID: 0016
Revises: 0015
Create Date: 2027-01-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_traffic",
        sa.Column("database_id", sa.String(22), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("api_key_id", sa.String(22), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("client_errors", sa.BigInteger(), nullable=False),
        sa.Column("server_errors", sa.BigInteger(), nullable=False),
        sa.Column("latency", ARRAY(sa.BigInteger()), nullable=False),
        sa.PrimaryKeyConstraint("database_id", "day", "api_key_id", name="pk_request_traffic"),
        schema="tenantry",
    )
    op.create_index("ix_request_traffic_day", "request_traffic", ["day"], schema="tenantry")


def downgrade() -> None:
    op.drop_table("request_traffic", schema="tenantry")
