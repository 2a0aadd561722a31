"""Airflow's dag_run, task_instance and asset_partition_dag_run: the DAG runs of jobs under way."""

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


def dag_runs_not_started(session: Any, dag_id: str, task_id: str = "run") -> int:
    """How many DAG runs of ``dag_id`` will still start their job task (``task_id``).

    Those Airflow has yet to make (a pending partition DAG run), those queued, and those running
    whose job task has not started (no state, scheduled or queued): each such run's task will
    plan its runs after now, so it takes whatever waits in the job's queue then.
    """
    from airflow.models.asset import AssetPartitionDagRun
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import and_, func, or_, select

    unmade = select(func.count()).where(
        AssetPartitionDagRun.target_dag_id == dag_id,
        AssetPartitionDagRun.created_dag_run_id.is_(None),
    )
    made = (
        select(func.count())
        .select_from(DagRun)
        .outerjoin(
            TaskInstance,
            and_(
                TaskInstance.dag_id == DagRun.dag_id,
                TaskInstance.run_id == DagRun.run_id,
                TaskInstance.task_id == task_id,
            ),
        )
        .where(
            DagRun.dag_id == dag_id,
            or_(
                DagRun.state == DagRunState.QUEUED,
                and_(
                    DagRun.state == DagRunState.RUNNING,
                    or_(
                        TaskInstance.state.is_(None),
                        TaskInstance.state.in_(
                            [TaskInstanceState.SCHEDULED, TaskInstanceState.QUEUED]
                        ),
                    ),
                ),
            ),
        )
    )
    return int(session.scalar(unmade) or 0) + int(session.scalar(made) or 0)
