"""Airflow's own history, bounded the way ``airflow db clean`` does it.

``airflow.utils.db_cleanup.run_cleanup`` (what ``airflow db clean`` runs) with ``confirm=False``
and ``skip_archive=True``, in batches, over the tables below. Left out on purpose:

- ``asset_event`` and ``partitioned_asset_key_log``: ``run_cleanup`` deletes asset events by age
  alone, also those a DAG has yet to consume; ``asset_tables`` prunes them (and the partition
  rows ``run_cleanup`` does not cover at all) keeping what is still pending;
- ``dag`` (DAGs not parsed for a while: deleting them takes their versions along), ``trigger``
  (deferred tasks may still wait on an old one) and ``import_error`` (current state, not
  history): ``airflow db clean --tables ...`` remains there for them.

A task process has no Airflow database session (Airflow 3 hides ``sql_alchemy_conn`` from
tasks), so the cleanup gets one of its own on ``[openfn] database_url``: the metadata database
that holds the openfn_* tables beside Airflow's.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from typing import Any

import psycopg

from openfn_airflow.store.database import connection_conninfo

AIRFLOW_TABLES = (
    "job",
    "dag_run",
    "task_instance",
    "task_instance_history",
    "task_reschedule",
    "task_state_store",
    "xcom",
    "_xcom_archive",
    "log",
    "callback",
    "deadline",
    "dag_version",
    "revoked_token",
    "celery_taskmeta",
    "celery_tasksetmeta",
    "connection_test_request",
    "session",  # only when the FAB auth manager keeps its sessions in the database
)
_DELETE = re.compile(r'^\s*DELETE\s+FROM\s+"?(\w+)"?', re.IGNORECASE)

log = logging.getLogger(__name__)


def clean_airflow_tables(
    before: dt.datetime,
    *,
    batch_size: int,
    url: str | None = None,
    logger: Any = None,
) -> dict[str, int]:
    """Delete Airflow's history older than ``before``; return the rows deleted per table.

    Rows deleted by a foreign key's ON DELETE CASCADE (a DAG run's ``dagrun_asset_event`` links
    and consumed ``asset_partition_dag_run`` rows, say) are not counted. Raises RuntimeError
    when a table could not be cleaned (after trying the others).
    """
    import pendulum
    from airflow.utils import db_cleanup
    from sqlalchemy import create_engine, event, pool
    from sqlalchemy.orm import Session

    logger = logger or log
    tables = [name for name in AIRFLOW_TABLES if name in db_cleanup.config_dict]
    conninfo = connection_conninfo(url)
    engine = create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(conninfo),
        poolclass=pool.NullPool,
    )
    deleted: Counter[str] = Counter()

    def count(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        match = _DELETE.match(statement)
        if match and cursor.rowcount and cursor.rowcount > 0:
            deleted[match[1]] += cursor.rowcount

    event.listen(engine, "after_cursor_execute", count)
    try:
        with Session(engine) as session:
            db_cleanup.run_cleanup(
                clean_before_timestamp=pendulum.instance(before),
                table_names=tables,
                dry_run=False,
                confirm=False,
                skip_archive=True,
                batch_size=batch_size,
                error_on_cleanup_failure=True,
                session=session,
            )
    finally:
        engine.dispose()
    counts = {table: deleted[table] for table in tables if table in db_cleanup.config_dict}
    logger.info(
        "Airflow history before %s deleted: %s",
        before.isoformat(timespec="seconds"),
        ", ".join(f"{table} {n:,}" for table, n in counts.items()),
    )
    return counts
