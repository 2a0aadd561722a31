"""Finer statistics of the message search vector: rare words are estimated as rare.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0004_search_statistics", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0004_search_statistics", "downgrade"))
