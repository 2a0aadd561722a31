"""A run records what ran it (``openfn_run.ran_with``).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0008_run_ran_with", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0008_run_ran_with", "downgrade"))
