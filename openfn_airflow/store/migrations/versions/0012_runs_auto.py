"""A job's ``runs`` may be 'auto', the new default (``openfn_job.runs``).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0012_runs_auto", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0012_runs_auto", "downgrade"))
