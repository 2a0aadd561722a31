"""An index Airflow's asset_partition_dag_run lacks (deleting DAG runs scanned it).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

from openfn_airflow.store.schema import migration_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(migration_sql("0006_partition_run_index", "upgrade"))


def downgrade() -> None:
    op.execute(migration_sql("0006_partition_run_index", "downgrade"))
