"""The run history: full-text search over run logs, runs by project and date.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0003_history", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0003_history", "downgrade"))
