"""The canary's rows: its round trip and its runs' outcomes (read only; see canary.sql).

Every function takes a psycopg connection first; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg

from openfn_airflow.store.queries import fetch_all, fetch_one


def check_database(conn: psycopg.Connection[Any]) -> dt.datetime:
    """Run ``SELECT 1`` and return the database's clock; DatabaseUnavailable when it does not
    answer."""
    row = fetch_one(conn, "check_database")
    assert row is not None and row["answered"] == 1
    return row["now"]


def get_canary_project(conn: psycopg.Connection[Any], project: str) -> dict[str, Any] | None:
    """``created_at``, ``registered`` (spec synced) and ``paused`` (a job off), or None."""
    return fetch_one(conn, "get_canary_project", project=project)


def get_round_trip(conn: psycopg.Connection[Any], project: str, job: str) -> dict[str, Any] | None:
    """The newest message-started successful run of ``job`` with the times of each step."""
    return fetch_one(conn, "get_round_trip", project=project, job=job)


def latest_outcomes(
    conn: psycopg.Connection[Any], project: str, jobs: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Each job's newest finished run (``run_id``, ``status``, ``finished_at``), by job."""
    rows = fetch_all(conn, "list_latest_outcomes", project=project, jobs=list(jobs))
    return {row["job"]: row for row in rows}
