"""Retry ledger runs: one new manual DAG run of the job per run, told which run it repeats.

The new DAG run carries ``{"retry_of": <run id>}`` as its conf; the job task then runs the job on
that run's initial state and records a new ledger run pointing at it (``inputs.plan_runs``). DAG
runs are created as Airflow's REST API creates them (``dag.create_dagrun`` on the latest
serialized DAG), inside the caller's Airflow DB session: nothing exists until it commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from openfn_airflow.dags.factory import dag_id_for

RETRY_CONF_KEY = "retry_of"
# run_search.sql's select_retry_runs recognises waiting retries by this name: keep them equal.
RETRY_RUN_ID_PREFIX = "openfn_retry__"


@dataclass
class RetryOutcome:
    """The DAG runs created (ledger run id, DAG id, DAG run id) and the runs left out, with why."""

    retried: list[tuple[int, str, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def job_dag_id(run: dict[str, Any]) -> str:
    """The DAG that runs a ledger run's job (the one that ran it, else the generated id)."""
    return run.get("dag_id") or dag_id_for(run["project"], run["job"])


def retry_runs(session: Any, runs: Sequence[dict[str, Any]], *, user_name: str) -> RetryOutcome:
    """Queue one DAG run per ledger run (``id``, ``project``, ``job``, ``dag_id``, ``has_initial_state``).

    Runs of a job whose DAG is gone or paused (job removed or switched off), and runs that never
    got an initial state, are skipped with the reason.
    """
    from airflow.models.dag import DagModel
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    outcome = RetryOutcome()
    dag_bag = DBDagBag()
    for dag_id, group in groupby(sorted(runs, key=job_dag_id), key=job_dag_id):
        members = sorted(group, key=lambda run: run["id"])
        dag_model = DagModel.get_current(dag_id, session=session)
        dag = dag_bag.get_latest_version_of_dag(dag_id, session=session) if dag_model else None
        problem = None
        if dag_model is None or dag_model.is_stale or dag is None:
            problem = f"the job's DAG {dag_id} does not exist any more"
        elif dag_model.is_paused:
            problem = f"the job is switched off (DAG {dag_id} is paused)"
        for run in members:
            if problem is None and not run["has_initial_state"]:
                outcome.skipped.append((run["id"], "the run never started: no state to retry"))
                continue
            if problem is not None:
                outcome.skipped.append((run["id"], problem))
                continue
            assert dag is not None
            dag_run_id = f"{RETRY_RUN_ID_PREFIX}{run['id']}__{uuid.uuid4().hex[:12]}"
            dag.create_dagrun(
                run_id=dag_run_id,
                run_after=dt.datetime.now(dt.UTC),
                conf={RETRY_CONF_KEY: run["id"]},
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.REST_API,
                triggering_user_name=user_name,
                state=DagRunState.QUEUED,
                session=session,
            )
            outcome.retried.append((run["id"], dag_id, dag_run_id))
    return outcome
