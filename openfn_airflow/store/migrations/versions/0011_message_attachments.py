"""A multipart message's files are stored with it (``openfn_attachment``); an OpenRosa
submission split over several requests waits for its last part (``openfn_message.incomplete``).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0011_message_attachments", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0011_message_attachments", "downgrade"))
