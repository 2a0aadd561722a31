"""Decide the runs of one attempt of a job task: repeats, claimed pending runs, or new runs."""

from __future__ import annotations

from typing import Any

from openfn_airflow.store import runs
from openfn_airflow.tasks.identity import TaskIdentity
from openfn_airflow.tasks.inputs import (
    RunInput,
    TaskTrigger,
    claimed_inputs,
    message_inputs,
    plan_runs,
    retry_inputs,
    unqueued_message_ids,
)


def plan_attempt(
    conn: Any,
    *,
    project: str,
    job: str,
    identity: TaskIdentity,
    trigger: TaskTrigger,
    batched: bool = False,
    bundle_version: str | None = None,
    batch_max: int | None = None,
) -> list[RunInput]:
    """Return the runs this attempt performs, in order; call it holding the task lock.

    ``batched``: the job has a queue of pending runs (``runs: batched`` and ``auto``) that a
    message-triggered DAG run takes from, ``batch_max`` of them at most (None: all).
    """
    if identity.try_number > 1:
        repeats = _repeats(conn, identity)
        if repeats is not None:
            return repeats
    if not (batched and trigger.kind == "message" and trigger.run_type != "manual"):
        return plan_runs(conn, project, job, trigger)
    # Batched: take every pending run of the job, also those whose asset event Airflow
    # folded into an earlier DAG run or left for a later one. Under the queue's lock: the auto
    # dispatcher counts on a DAG run that has not claimed yet to take what it queues.
    runs.lock_job_queue(conn, project=project, job=job)
    claimed = runs.claim_pending_runs(
        conn,
        project=project,
        job=job,
        dag_id=identity.dag_id,
        dag_run_id=identity.run_id,
        task_id=identity.task_id,
        try_number=identity.try_number,
        bundle_version=bundle_version,
        **({"limit": batch_max} if batch_max else {}),
    )
    inputs = claimed_inputs(conn, claimed)
    unqueued = unqueued_message_ids(trigger.event_extras)
    inputs += message_inputs(conn, unqueued, "message", project=project)
    # In the order the messages came in (an auto job's own message before those queued after).
    return sorted(inputs, key=lambda run_input: run_input.message_id or 0)


def _repeats(conn: Any, identity: TaskIdentity) -> list[RunInput] | None:
    """The runs a later attempt repeats; None when no earlier attempt recorded any."""
    # An earlier attempt's runs still 'running' lost their process: the lock we hold says
    # no attempt of this task instance runs any more.
    runs.mark_unfinished_runs(conn, dag_id=identity.dag_id, dag_run_id=identity.run_id)
    latest = runs.latest_attempts(conn, dag_id=identity.dag_id, dag_run_id=identity.run_id)
    if not latest:
        return None
    # Cleared after it succeeded, the task repeats its runs; after a failure, or when Airflow
    # lost the attempt (a dead scheduler or worker), only those that did not succeed: a run the
    # lost attempt finished is not run again.
    previous = identity.previous_try_state
    if previous is None:
        previous = runs.previous_try_state(
            conn,
            dag_id=identity.dag_id,
            run_id=identity.run_id,
            task_id=identity.task_id,
            map_index=identity.map_index,
            try_number=identity.try_number - 1,
        )
    return retry_inputs(conn, latest, all_when_all_succeeded=previous == "success")
