"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

# The SQL lives in migrations/<this file's name>.sql, as `-- upgrade --` and `-- downgrade --` blocks.
_SQL = Path(__file__).stem


def upgrade() -> None:
    op.execute(migration_sql(_SQL, "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql(_SQL, "downgrade"))
