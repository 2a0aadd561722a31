"""Indexes for the history filters: a message's latest run, messages by received time.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0005_history_indexes", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0005_history_indexes", "downgrade"))
