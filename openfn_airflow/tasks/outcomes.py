"""Which ledger runs of a DAG run ended in success or failure: what the emit tasks announce."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from openfn_airflow.store import runs
from openfn_airflow.store.filters import FAILED_STATUSES


def runs_ended_in(
    connect: Callable[[], Any], outcome: Literal["success", "failure"], *, dag_id: str, run_id: str
) -> list[int]:
    """Ids of the DAG run's latest attempts that ended in ``outcome``, oldest first.

    Call it once the DAG run's job task is over: for ``failure``, runs still 'running' then lost
    their process and count as failed (exit 5).
    """
    conn = connect()
    try:
        if outcome == "failure":
            runs.mark_unfinished_runs(conn, dag_id=dag_id, dag_run_id=run_id)
        latest = runs.latest_attempts(conn, dag_id=dag_id, dag_run_id=run_id)
        conn.commit()
    finally:
        conn.close()
    wanted = ("success",) if outcome == "success" else FAILED_STATUSES
    return [row["id"] for row in latest if row["status"] in wanted]
