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
# With retry_of: "current" repeats the run on its message as it is now (tasks/inputs.py).
MESSAGE_CONF_KEY = "message"
CURRENT_MESSAGE = "current"
# run_search.sql's select_retry_runs recognises waiting retries by this name: keep them equal.
RETRY_RUN_ID_PREFIX = "openfn_retry__"
# DAG runs of one job on one message, started by hand from the Inbox.
MATCH_RUN_ID_PREFIX = "openfn_match__"


class CannotStart(Exception):
    """The job's DAG cannot take a run now (gone, or paused); the message says what to do."""


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


def _runnable_dag(session: Any, dag_id: str) -> Any:
    """The latest serialized DAG, or ``CannotStart`` saying why it cannot take a run."""
    from airflow.models.dag import DagModel
    from airflow.models.dagbag import DBDagBag

    dag_model = DagModel.get_current(dag_id, session=session)
    dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session) if dag_model else None
    if dag_model is None or dag_model.is_stale or dag is None:
        raise CannotStart(
            f"The job's DAG {dag_id} is not in Airflow (yet): check DAG import errors"
        )
    if dag_model.is_paused:
        raise CannotStart(f"The job is switched off (DAG {dag_id} is paused): switch it on first")
    return dag


def _start(session: Any, dag: Any, run_id: str, conf: dict[str, Any], user_name: str) -> str:
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    dag.create_dagrun(
        run_id=run_id,
        run_after=dt.datetime.now(dt.UTC),
        conf=conf,
        run_type=DagRunType.MANUAL,
        triggered_by=DagRunTriggeredByType.REST_API,
        triggering_user_name=user_name,
        state=DagRunState.QUEUED,
        session=session,
    )
    return run_id


def run_on_message(session: Any, dag_id: str, message_id: int, *, user_name: str) -> str:
    """Queue one manual DAG run of ``dag_id`` on message ``message_id``; return its run id.

    Its conf is ``{"message_id": N}``: the job task runs the job once on the message's current
    body, as the Trigger DAG form does with that conf (``inputs.plan_runs``).
    """
    dag = _runnable_dag(session, dag_id)
    run_id = f"{MATCH_RUN_ID_PREFIX}{message_id}__{uuid.uuid4().hex[:12]}"
    return _start(session, dag, run_id, {"message_id": message_id}, user_name)


def retry_with_current_message(session: Any, run: dict[str, Any], *, user_name: str) -> str:
    """Queue a retry of ledger run ``run`` on its message as it is now; return the DAG run id.

    The default retry replays the run's initial state; this one starts from the message's
    current body (``{"data": body, "request": ...}`` as a message run does), so an edit that
    fixed the message is what the job sees. The new ledger run still points at ``run``.
    """
    dag = _runnable_dag(session, job_dag_id(run))
    run_id = f"{RETRY_RUN_ID_PREFIX}{run['id']}__{uuid.uuid4().hex[:12]}"
    conf = {RETRY_CONF_KEY: run["id"], MESSAGE_CONF_KEY: CURRENT_MESSAGE}
    return _start(session, dag, run_id, conf, user_name)
