"""The whole run log is searchable and URLs are split into words (``openfn_run.log_words``).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0010_run_log_words", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0010_run_log_words", "downgrade"))
