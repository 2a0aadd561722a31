"""The DAG runs of a project's jobs that wait to start or are running, from Airflow's tables."""

from __future__ import annotations

from typing import Any

from openfn_airflow.dags.factory import dag_id_for


def dag_runs_in_flight(session: Any, project: str) -> dict[str, int]:
    """Return how many DAG runs of the project's job DAGs are ``queued`` and ``running``."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState
    from sqlalchemy import func, select

    prefix = dag_id_for(project, "")
    rows = session.execute(
        select(DagRun.state, func.count())
        .where(
            DagRun.dag_id.startswith(prefix, autoescape=True),
            DagRun.state.in_([DagRunState.QUEUED, DagRunState.RUNNING]),
        )
        .group_by(DagRun.state)
    ).all()
    counts = {str(getattr(state, "value", state)): n for state, n in rows}
    return {"queued": counts.get("queued", 0), "running": counts.get("running", 0)}
