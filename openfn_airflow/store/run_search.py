"""The run history: search, count, export and the selection a bulk retry works on.

Every function takes a psycopg connection first; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from openfn_airflow.store.exports import copy_csv
from openfn_airflow.store.filters import COUNT_CAP, RunFilter, visibility_params
from openfn_airflow.store.queries import fetch_all, fetch_one, fetch_one_within, query


def search_runs(
    conn: psycopg.Connection, where: RunFilter, *, limit: int, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Return runs newest first (summary columns), those with ids below ``before_id`` when given."""
    return fetch_all(conn, "search_runs", **where.params(), before_id=before_id, limit=limit)


def count_runs(
    conn: psycopg.Connection,
    where: RunFilter,
    cap: int = COUNT_CAP,
    budget_ms: int | None = None,
) -> int | None:
    """Return how many runs match, or None when more than ``cap`` do.

    ``budget_ms``: give up after that long (StatementTimedOut).
    """
    params = {**where.params(), "cap": cap + 1}
    if budget_ms is None:
        row = fetch_one(conn, "count_runs", **params)
    else:
        row = fetch_one_within(conn, "count_runs", budget_ms, **params)
    assert row is not None
    return None if row["n"] > cap else row["n"]


def find_run_at(
    conn: psycopg.Connection, where: RunFilter, position: int, budget_ms: int | None = None
) -> int | None:
    """Return the id of the matching run at ``position`` (0: the newest), None past the end.

    ``position`` stays under ``COUNT_CAP`` (ValueError): a page that deep is not looked up by
    reading that many rows. ``budget_ms``: give up after that long (StatementTimedOut).
    """
    if not 0 <= position < COUNT_CAP:
        raise ValueError(f"position {position} is not within the first {COUNT_CAP} matches")
    params = {**where.params(), "position": position}
    if budget_ms is None:
        row = fetch_one(conn, "find_run_at", **params)
    else:
        row = fetch_one_within(conn, "find_run_at", budget_ms, **params)
    return None if row is None else int(row["id"])


def find_neighbours(
    conn: psycopg.Connection,
    run_id: int,
    project: str,
    visible_jobs: tuple[str, ...] | None = None,
) -> tuple[int | None, int | None]:
    """Return the ids of the next older and the next newer run of ``project``.

    ``visible_jobs``: only runs of these jobs ("project/job"; None: of every job).
    """
    row = fetch_one(
        conn,
        "find_run_neighbours",
        run_id=run_id,
        project=project,
        **visibility_params(None, visible_jobs),
    )
    assert row is not None
    return row["older"], row["newer"]


def export_runs(
    conn: psycopg.Connection, where: RunFilter, *, include_log: bool = False
) -> Iterator[bytes]:
    """Yield the matching runs as CSV (with a header row), newest first, in constant memory.

    ``include_log``: each run's whole log in a last column ``log`` (memory then grows with the
    longest log, not with the number of runs).
    """
    statement = query("export_runs_with_log" if include_log else "export_runs")
    return copy_csv(conn, statement, where.params())


def searchable_up_to(conn: psycopg.Connection, run_id: int) -> int | None:
    """Return how many characters of a run's log its search reads, None when it reads them all."""
    row = fetch_one(conn, "searchable_up_to", run_id=run_id)
    return None if row is None or row["up_to"] is None else int(row["up_to"])


def select_retry_runs(conn: psycopg.Connection, where: RunFilter, cap: int) -> list[dict[str, Any]]:
    """Return the runs a bulk retry with these filters repeats, oldest first (at most ``cap``).

    Finished runs no later run retried yet; runs chained to another selected run are left out.
    """
    return fetch_all(conn, "select_retry_runs", **where.params(), cap=cap)


def list_retries_of(conn: psycopg.Connection, run_id: int) -> list[int]:
    """Return the ids of the runs that retried ``run_id``, oldest first."""
    return [row["id"] for row in fetch_all(conn, "list_retries_of", run_id=run_id)]


def list_message_runs(
    conn: psycopg.Connection,
    message_id: int,
    limit: int = 500,
    visible_jobs: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Return the runs of a message, newest first (summary columns); of ``visible_jobs`` only."""
    return fetch_all(
        conn,
        "list_message_runs",
        message_id=message_id,
        limit=limit,
        **visibility_params(None, visible_jobs),
    )
