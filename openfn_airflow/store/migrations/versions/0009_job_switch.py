"""A job remembers when its spec last switched it (``openfn_job.enabled_changed_at``).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0009_job_switch", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0009_job_switch", "downgrade"))
