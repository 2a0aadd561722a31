"""What a project uses: runs per day by status, and the queue of work waiting to run.

Every function takes a psycopg connection first; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from openfn_airflow.store.queries import fetch_all, fetch_one


def runs_per_day(
    conn: psycopg.Connection, project: str, since: dt.datetime
) -> dict[dt.date, dict[str, int]]:
    """Return, per UTC day since ``since``, the number of runs created in each status."""
    days: dict[dt.date, dict[str, int]] = {}
    for row in fetch_all(conn, "count_runs_per_day", project=project, since=since):
        days.setdefault(row["day"], {})[row["status"]] = row["runs"]
    return days


def unfinished_runs(conn: psycopg.Connection, project: str) -> dict[str, int]:
    """Return the project's ledger runs ``pending`` and ``running`` right now."""
    row = fetch_one(conn, "count_unfinished_runs", project=project)
    assert row is not None
    return {"pending": row["pending"], "running": row["running"]}


def undispatched(conn: psycopg.Connection, project: str) -> int:
    """Return the project's inbox deliveries still waiting for the dispatcher."""
    row = fetch_one(conn, "count_undispatched", project=project)
    assert row is not None
    return row["n"]
