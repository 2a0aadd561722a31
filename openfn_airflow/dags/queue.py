"""The DAG runs of a project's jobs that wait to start or are running, from Airflow's tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def dag_runs_in_flight(session: Any, dag_ids: Sequence[str]) -> dict[str, int]:
    """Return how many DAG runs of these job DAGs are ``queued`` and ``running``.

    By the project's own DAG ids, not a prefix: ``openfn__a__`` also starts project
    ``a__b``'s DAG ids.
    """
    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState
    from sqlalchemy import func, select

    if not dag_ids:
        return {"queued": 0, "running": 0}
    rows = session.execute(
        select(DagRun.state, func.count())
        .where(
            DagRun.dag_id.in_(list(dag_ids)),
            DagRun.state.in_([DagRunState.QUEUED, DagRunState.RUNNING]),
        )
        .group_by(DagRun.state)
    ).all()
    counts = {str(getattr(state, "value", state)): n for state, n in rows}
    return {"queued": counts.get("queued", 0), "running": counts.get("running", 0)}
