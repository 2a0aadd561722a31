"""How the canary is doing: its last round trip, in ms, and a status a monitor can act on.

Statuses: ``off`` (``[openfn] canary`` off), ``never`` (on, no round trip yet, and on for less
than the time a first one may take), ``ok``, ``late`` (no round trip for two intervals and a
minute), ``failing`` (the newest finished run of one of its jobs did not succeed), ``paused``
(one of its jobs is switched off). ``late`` and ``failing`` are unhealthy (HTTP 503), as is a
database that does not answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from openfn_airflow import canary
from openfn_airflow.store import canary as rows
from openfn_airflow.store.errors import DatabaseUnavailable

UNHEALTHY = frozenset({"late", "failing"})


def check(conn: psycopg.Connection[Any] | None, *, now: dt.datetime | None = None) -> dict:
    """The health answer; ``conn`` None means no connection could be had (database down).

    ``now`` (the database's clock when not given) is what "late" is measured against.
    """
    on = canary.enabled()
    answer: dict[str, Any] = {
        "canary": "on" if on else "off",
        "status": "off",
        "database": {"status": "healthy"},
        "interval_s": canary.INTERVAL_SECONDS,
        "round_trip_ms": None,
        "measured_at": None,
        "message_id": None,
        "stages_ms": None,
        "failed_job": None,
    }
    try:
        if conn is None:
            raise DatabaseUnavailable("no connection")
        clock = rows.check_database(conn)
        if on:
            answer.update(_canary(conn, now or clock))
    except DatabaseUnavailable:
        answer["database"] = {"status": "unhealthy"}
        answer["status"] = "failing" if on else "off"
    return answer


def is_healthy(answer: dict) -> bool:
    """Whether a monitor should count this answer as up (HTTP 200) or down (503)."""
    return answer["database"]["status"] == "healthy" and answer["status"] not in UNHEALTHY


def _canary(conn: psycopg.Connection[Any], now: dt.datetime) -> dict[str, Any]:
    found: dict[str, Any] = {}
    trip = rows.get_round_trip(conn, canary.PROJECT, canary.RECEIVE_JOB)
    if trip is not None:
        found.update(
            round_trip_ms=_ms(trip["received_at"], trip["finished_at"]),
            measured_at=trip["finished_at"],
            message_id=trip["message_id"],
            stages_ms={
                "inbox_to_dispatch": _ms(trip["received_at"], trip["dispatched_at"]),
                "dispatch_to_queued": _ms(trip["dispatched_at"], trip["queued_at"]),
                "queued_to_start": _ms(trip["queued_at"], trip["started_at"]),
                "run": _ms(trip["started_at"], trip["finished_at"]),
            },
        )
    project = rows.get_canary_project(conn, canary.PROJECT)
    outcomes = rows.latest_outcomes(conn, canary.PROJECT, canary.JOBS)
    failed = [job for job, run in outcomes.items() if run["status"] != "success"]
    late_after = dt.timedelta(seconds=canary.late_after_seconds())
    # Late counts from the last round trip, else from when the registry first had the canary
    # (its first round trip comes at its first tick).
    since: dt.datetime | None = None
    if trip is not None:
        since = trip["finished_at"]
    elif project is not None:
        since = project["created_at"]
    if project is not None and project["paused"]:
        status = "paused"
    elif failed:
        status = "failing"
        found["failed_job"] = failed[0]
    elif since is not None and now - since > late_after:
        status = "late"
    elif trip is None:
        status = "never"
    else:
        status = "ok"
    found["status"] = status
    return found


def _ms(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000)
