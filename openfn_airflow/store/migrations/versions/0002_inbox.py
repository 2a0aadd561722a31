"""The inbox: searchable, idempotent messages; triggers, jobs, dispatch outbox, auth methods.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0002_inbox", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0002_inbox", "downgrade"))
