"""An inbox stays closed when its last auth method is revoked; failed logins are counted.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0007_inbox_closed", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0007_inbox_closed", "downgrade"))
