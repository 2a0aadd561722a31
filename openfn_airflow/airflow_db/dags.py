"""Airflow's dag table, read: which of the jobs' DAGs Airflow runs, and which are paused."""

from __future__ import annotations


def dags_paused(dag_ids: list[str]) -> dict[str, bool]:
    """Whether each DAG Airflow has and runs is paused (left out: DAGs it does not know, and
    stale ones, which it keeps but no longer runs: a job restored from the archive is not in
    Airflow again until its DAG is parsed)."""
    if not dag_ids:
        return {}
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(DagModel.dag_id, DagModel.is_paused).where(
                DagModel.dag_id.in_(dag_ids), DagModel.is_stale.is_(False)
            )
        ).all()
    return {dag_id: bool(is_paused) for dag_id, is_paused in rows}
