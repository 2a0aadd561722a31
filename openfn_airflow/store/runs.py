"""The run ledger (``openfn_run``): one row per OpenFn run.

Every function takes a psycopg connection first; the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from openfn_airflow.store.errors import StoreError
from openfn_airflow.store.queries import execute, fetch_all, fetch_one

TRIGGERS = ("message", "cron", "success", "failure", "manual", "retry")
STATUSES = ("pending", "running", "success", "failed", "killed", "crashed", "lost")
#: What a run's initial and final state become when retention deletes its message: the states
#: held the message's body and headers (sql/retention.sql writes it, as a literal).
PURGED_STATE: dict[str, Any] = {"purged": True}


def is_purged(state: Any) -> bool:
    """Tell whether a stored state is the marker left by retention (``PURGED_STATE``)."""
    return state == PURGED_STATE


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def start_run(
    conn: psycopg.Connection,
    *,
    project: str,
    job: str,
    trigger: str,
    initial_state: dict[str, Any] | None,
    message_id: int | None = None,
    dag_id: str | None = None,
    dag_run_id: str | None = None,
    task_id: str | None = None,
    try_number: int | None = None,
    map_index: int = -1,
    retry_of: int | None = None,
    upstream_run_id: int | None = None,
    bundle_version: str | None = None,
    ran_with: str | None = None,
) -> int:
    """Record a run as started now (status ``running``) and return its id.

    ``initial_state`` must already be without ``configuration``: credentials are never stored.
    ``ran_with`` names what runs it (``Session.ran_with``); None when no engine could start.
    """
    row = fetch_one(
        conn,
        "start_run",
        project=project,
        job=job,
        trigger=trigger,
        message_id=message_id,
        dag_id=dag_id,
        dag_run_id=dag_run_id,
        task_id=task_id,
        try_number=try_number,
        map_index=map_index,
        initial_state=_jsonb(initial_state),
        retry_of=retry_of,
        upstream_run_id=upstream_run_id,
        bundle_version=bundle_version,
        ran_with=ran_with,
    )
    assert row is not None
    return row["id"]


def finish_run(
    conn: psycopg.Connection,
    run_id: int,
    *,
    status: str,
    exit_code: int | None,
    log: str,
    final_state: Any,
) -> None:
    """Record how a run ended (finished now); StoreError when there is no such run."""
    touched = execute(
        conn,
        "finish_run",
        run_id=run_id,
        status=status,
        exit_code=exit_code,
        log=log,
        final_state=_jsonb(final_state),
    )
    if touched == 0:
        raise StoreError(f"run {run_id} does not exist (deleted by retention?)")


def get_run(conn: psycopg.Connection, run_id: int) -> dict[str, Any] | None:
    """Return every column of a run, log and states included, or None."""
    return fetch_one(conn, "get_run", run_id=run_id)


#: ``data`` values a job leaves when it does not keep ``data`` (OpenFn's advice against a
#: growing state: ``state.data = {}``); the runtimes start a run with ``data: {}`` anyway.
_CLEARED: tuple[Any, ...] = (None, {}, [])


def cursor_of(final_state: dict[str, Any] | None) -> dict[str, Any]:
    """Return what a cron run carries of ``final_state`` to the job's next run (the cursor).

    Not ``references``: OpenFn's runtime starts every run with its own, and carried along they
    grow with every run. Not ``data`` when the job cleared it. Everything else, ``data`` kept by
    the job included, as OpenFn carries the whole final state.
    """
    cursor = {key: value for key, value in (final_state or {}).items() if key != "references"}
    if "data" in cursor and any(cursor["data"] == cleared for cleared in _CLEARED):
        del cursor["data"]
    return cursor


def get_cursor_state(conn: psycopg.Connection, project: str, job: str) -> dict[str, Any] | None:
    """Return the cron cursor: ``cursor_of`` the job's latest successful run's state, or None."""
    row = fetch_one(conn, "get_cursor_state", project=project, job=job)
    return None if row is None else cursor_of(row["final_state"])


def find_previous_attempt(
    conn: psycopg.Connection,
    *,
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    message_id: int | None,
    upstream_run_id: int | None,
) -> int | None:
    """Return the latest ledger run of this task instance for the same message / upstream run.

    Call it before ``start_run`` of a new attempt: its answer is that attempt's ``retry_of``.
    """
    row = fetch_one(
        conn,
        "find_previous_attempt",
        dag_id=dag_id,
        dag_run_id=dag_run_id,
        task_id=task_id,
        message_id=message_id,
        upstream_run_id=upstream_run_id,
    )
    return None if row is None else row["id"]


def list_runs(
    conn: psycopg.Connection,
    *,
    project: str | None = None,
    job: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Return runs newest first, without log and states; a filter left None does not filter."""
    return fetch_all(conn, "list_runs", project=project, job=job, status=status, limit=limit)


def latest_attempts(
    conn: psycopg.Connection[Any], *, dag_id: str, dag_run_id: str
) -> list[dict[str, Any]]:
    """Return the runs of one DAG run that no later attempt retried, oldest first."""
    return fetch_all(conn, "latest_attempts", dag_id=dag_id, dag_run_id=dag_run_id)


def try_task_lock(conn: psycopg.Connection[Any], key: str) -> bool:
    """Take the lock of task instance ``key`` for this session (it ends with the session);
    False when another holds it."""
    row = fetch_one(conn, "try_task_lock", key=key)
    return bool(row and row["locked"])


def wait_task_lock(conn: psycopg.Connection[Any], key: str) -> None:
    """Take the lock of task instance ``key`` for this session, waiting for whoever holds it."""
    fetch_one(conn, "wait_task_lock", key=key)


def previous_try_state(
    conn: psycopg.Connection[Any],
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    try_number: int,
) -> str | None:
    """The state Airflow recorded for attempt ``try_number`` of a task instance (None: unknown)."""
    row = fetch_one(
        conn,
        "previous_try_state",
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        try_number=try_number,
    )
    return row["state"] if row else None


def mark_unfinished_runs(
    conn: psycopg.Connection[Any], *, dag_id: str, dag_run_id: str
) -> list[int]:
    """Mark runs of a DAG run still 'running' as crashed (exit 5); return their ids.

    Call it only once the DAG run's job task is over: a row still running then lost its process.
    """
    note = "\nThe task process ended before this run finished (killed or out of memory).\n"
    rows = fetch_all(conn, "mark_unfinished_runs", dag_id=dag_id, dag_run_id=dag_run_id, note=note)
    return [row["id"] for row in rows]


def lock_job_queue(conn: psycopg.Connection[Any], *, project: str, job: str) -> None:
    """Hold the job's queue until the transaction ends (see ``lock_job_queue`` in runs.sql)."""
    execute(conn, "lock_job_queue", project=project, job=job)


def count_pending_runs(conn: psycopg.Connection[Any], *, project: str, job: str) -> int:
    """How many runs of the job wait in its queue, not claimed by any DAG run yet."""
    row = fetch_one(conn, "count_pending_runs", project=project, job=job)
    return int(row["pending"]) if row else 0


def claim_pending_runs(
    conn: psycopg.Connection[Any],
    *,
    project: str,
    job: str,
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    try_number: int,
    bundle_version: str | None = None,
    limit: int = 100_000,
) -> list[dict[str, Any]]:
    """Mark the job's oldest pending runs as running in this task; return their ids and messages."""
    return fetch_all(
        conn,
        "claim_pending_runs",
        project=project,
        job=job,
        dag_id=dag_id,
        dag_run_id=dag_run_id,
        task_id=task_id,
        try_number=try_number,
        bundle_version=bundle_version,
        limit=limit,
    )


def set_initial_state(
    conn: psycopg.Connection[Any], run_id: int, initial_state: Any, ran_with: str | None = None
) -> None:
    """Record the initial state of a claimed run (without ``configuration``) and what runs it,
    as it starts."""
    execute(
        conn,
        "set_initial_state",
        run_id=run_id,
        initial_state=_jsonb(initial_state),
        ran_with=ran_with,
    )
