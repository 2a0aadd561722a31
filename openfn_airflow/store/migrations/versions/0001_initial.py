"""Create openfn_project, openfn_message and openfn_run.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0001_initial", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0001_initial", "downgrade"))
