"""Retention (activity cleaning) of the openfn_* tables: a project's expired messages and runs.

A message is deleted with its deliveries (``openfn_dispatch``), earlier bodies
(``openfn_message_version``) and files (``openfn_attachment``); its runs stay until their own
period, their ``message_id`` set to NULL and their states replaced by ``runs.PURGED_STATE``
(they held the payload and the files' names). A run is
deleted with its log and states; a later retry of it keeps its own row (``retry_of`` NULL).
Each ``delete_*_batch`` deletes at most ``limit`` rows; the caller owns the transaction and
commits each batch, so no transaction holds many locks or a long snapshot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import psycopg

from openfn_airflow.store.queries import execute, fetch_all, fetch_one

#: Where the first batch starts: before every row.
START = (dt.datetime.min.replace(tzinfo=dt.UTC), 0)


@dataclass
class Batch:
    """What one batch deleted (rows per table), and where the next batch starts."""

    deleted: dict[str, int] = field(default_factory=dict)
    next_key: tuple[dt.datetime, int] = START
    full: bool = False  # as many rows as asked for: there may be more


def cutoff(conn: psycopg.Connection[Any], seconds: float) -> dt.datetime:
    """Return the database's now() minus ``seconds``: rows older than this have expired."""
    row = fetch_one(conn, "retention_cutoff", seconds=seconds)
    assert row is not None
    return row["cutoff"]


def _claim(
    conn: psycopg.Connection[Any],
    name: str,
    project: str,
    before: dt.datetime,
    after: tuple[dt.datetime, int],
    limit: int,
) -> list[dict[str, Any]]:
    """The next ``limit`` expired rows after the keyset ``after`` (time, id), locked."""
    return fetch_all(
        conn,
        name,
        project=project,
        cutoff=before,
        after_at=after[0],
        after_id=after[1],
        limit=limit,
    )


def delete_messages_batch(
    conn: psycopg.Connection[Any],
    project: str,
    before: dt.datetime,
    *,
    after: tuple[dt.datetime, int] = START,
    limit: int = 5000,
) -> Batch:
    """Delete up to ``limit`` of the project's messages received before ``before``, oldest first.

    Messages still waiting for a delivery or a batched run are kept; rows locked by another
    transaction are skipped (a later run of the maintenance DAG deletes them).
    """
    rows = _claim(conn, "claim_expired_messages", project, before, after, limit)
    if not rows:
        return Batch(next_key=after)
    ids = [row["id"] for row in rows]
    deleted = {
        "openfn_run (states purged)": execute(conn, "purge_message_run_states", ids=ids),
        "openfn_run (message set to null)": execute(conn, "detach_runs_from_messages", ids=ids),
        "openfn_message_version": execute(conn, "delete_message_versions", ids=ids),
        "openfn_attachment": execute(conn, "delete_message_attachments", ids=ids),
        "openfn_dispatch": execute(conn, "delete_message_dispatches", ids=ids),
        "openfn_message": execute(conn, "delete_messages", ids=ids),
    }
    last = rows[-1]
    return Batch(deleted, (last["received_at"], last["id"]), full=len(rows) == limit)


def delete_runs_batch(
    conn: psycopg.Connection[Any],
    project: str,
    before: dt.datetime,
    *,
    after: tuple[dt.datetime, int] = START,
    limit: int = 5000,
) -> Batch:
    """Delete up to ``limit`` of the project's finished runs created before ``before``, oldest
    first, with their logs; pending and running runs are kept."""
    rows = _claim(conn, "claim_expired_runs", project, before, after, limit)
    if not rows:
        return Batch(next_key=after)
    ids = [row["id"] for row in rows]
    deleted = {
        "openfn_run (retry_of set to null)": execute(conn, "detach_retries", ids=ids),
        "openfn_run": execute(conn, "delete_runs", ids=ids),
    }
    last = rows[-1]
    return Batch(deleted, (last["created_at"], last["id"]), full=len(rows) == limit)
