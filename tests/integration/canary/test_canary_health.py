"""The canary's health, computed from the rows the inbox, the dispatcher, the scheduler and
the job task write (real PostgreSQL; the steps are tests/canary_rows.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from canary_rows import STEP_SECONDS, CanaryRows
from factories import make_message, make_run
from psycopg.rows import dict_row

from openfn_airflow import canary
from openfn_airflow.canary import health

pytestmark = pytest.mark.integration

LATE_AFTER = dt.timedelta(seconds=2 * canary.INTERVAL_SECONDS + canary.SLACK_SECONDS)


@pytest.fixture
def canary_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "True")


@pytest.fixture
def autocommit(db_url: str, clean_db: None) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def rows(autocommit: psycopg.Connection[Any], canary_on: None) -> Iterator[CanaryRows]:
    made = CanaryRows(autocommit)
    yield made
    made.remove()


def run_row(conn: psycopg.Connection[Any], run_id: int) -> dict[str, Any]:
    return conn.execute("SELECT * FROM openfn_run WHERE id = %s", [run_id]).fetchone()


def ms(start: dt.datetime, end: dt.datetime) -> int:
    return round((end - start).total_seconds() * 1000)


def test_a_round_trip_is_measured_from_received_to_its_run_ended(rows, autocommit):
    message_id, run_id = rows.round_trip()

    answer = health.check(autocommit)

    run = run_row(autocommit, run_id)
    message = autocommit.execute(
        "SELECT received_at FROM openfn_message WHERE id = %s", [message_id]
    ).fetchone()
    assert answer["status"] == "ok" and health.is_healthy(answer)
    assert answer["canary"] == "on" and answer["database"] == {"status": "healthy"}
    assert answer["message_id"] == message_id
    assert answer["measured_at"] == run["finished_at"]
    assert answer["round_trip_ms"] == ms(message["received_at"], run["finished_at"])
    stages = answer["stages_ms"]
    assert set(stages) == {"inbox_to_dispatch", "dispatch_to_queued", "queued_to_start", "run"}
    # each step waited at least STEP_SECONDS after the one before
    assert all(value >= STEP_SECONDS * 1000 * 0.9 for value in stages.values()), stages
    assert abs(sum(stages.values()) - answer["round_trip_ms"]) <= 2
    assert answer["interval_s"] == 300 and answer["failed_job"] is None


def test_the_newest_round_trip_counts_and_a_retry_or_a_run_by_hand_does_not(rows, autocommit):
    first, _ = rows.round_trip()
    second, _ = rows.round_trip()
    # a retry of the first message's run, and a run by hand on it, both after the second
    rows.run(canary.RECEIVE_JOB, message_id=first, trigger="retry")
    rows.run(canary.RECEIVE_JOB, message_id=first, trigger="manual")

    answer = health.check(autocommit)

    assert answer["status"] == "ok" and answer["message_id"] == second


def test_late_after_two_intervals_and_a_minute_without_a_round_trip(rows, autocommit):
    rows.round_trip()
    measured = health.check(autocommit)["measured_at"]

    on_time = health.check(autocommit, now=measured + LATE_AFTER)
    late = health.check(autocommit, now=measured + LATE_AFTER + dt.timedelta(seconds=1))

    assert on_time["status"] == "ok"
    assert late["status"] == "late" and not health.is_healthy(late)
    assert late["measured_at"] == measured  # the last round trip is still told


def test_a_failed_send_is_failing_until_the_next_round_trip(rows, autocommit):
    message_id, _ = rows.round_trip()
    rows.run(canary.SEND_JOB, trigger="cron", status="failed")

    failing = health.check(autocommit)
    assert failing["status"] == "failing" and not health.is_healthy(failing)
    assert failing["failed_job"] == canary.SEND_JOB
    assert failing["message_id"] == message_id

    later, _ = rows.round_trip()
    recovered = health.check(autocommit)
    assert recovered["status"] == "ok" and recovered["message_id"] == later


def test_a_failed_receive_is_failing(rows, autocommit):
    rows.round_trip()
    rows.run(canary.SEND_JOB, trigger="cron")
    message_id = rows.receive()
    rows.dispatch(message_id)
    rows.run(
        canary.RECEIVE_JOB,
        message_id=message_id,
        dag_run_id=rows.queue_dag_run(),
        status="failed",
    )

    answer = health.check(autocommit)

    assert answer["status"] == "failing" and answer["failed_job"] == canary.RECEIVE_JOB
    assert answer["message_id"] != message_id  # measured on the last one that made it


def test_never_while_new_then_late_when_no_round_trip_comes(rows, autocommit):
    created = autocommit.execute(
        "SELECT created_at FROM openfn_project WHERE name = %s", [canary.PROJECT]
    ).fetchone()["created_at"]

    new = health.check(autocommit)
    stuck = health.check(autocommit, now=created + LATE_AFTER + dt.timedelta(seconds=1))

    assert new["status"] == "never" and health.is_healthy(new)
    assert new["round_trip_ms"] is None and new["measured_at"] is None
    assert stuck["status"] == "late" and not health.is_healthy(stuck)


def test_a_message_stuck_before_its_run_does_not_count(rows, autocommit):
    """Stored and dispatched, but the scheduler never ran it: late, measured on the one before."""
    first, _ = rows.round_trip()
    rows.run(canary.SEND_JOB, trigger="cron")
    stuck = rows.receive()
    rows.dispatch(stuck)

    answer = health.check(autocommit)
    measured = answer["measured_at"]
    assert answer["message_id"] == first and answer["status"] == "ok"
    late = health.check(autocommit, now=measured + LATE_AFTER + dt.timedelta(seconds=1))
    assert late["status"] == "late" and late["message_id"] == first


def test_other_projects_rows_do_not_count(rows, autocommit):
    message = make_message(autocommit, project="core", body=rows_body())
    make_run(
        autocommit,
        project="core",
        job=canary.RECEIVE_JOB,
        trigger="message",
        message_id=message["id"],
        status="success",
    )
    make_run(autocommit, project="core", job=canary.SEND_JOB, trigger="cron", status="failed")

    answer = health.check(autocommit)

    assert answer["status"] == "never" and answer["message_id"] is None


def test_a_paused_canary_job_is_paused_not_late(rows, autocommit):
    rows.round_trip()
    dag_id = f"openfn__{canary.PROJECT}__{canary.SEND_JOB}"
    with switched_off(autocommit, dag_id):
        measured = health.check(autocommit)["measured_at"]
        answer = health.check(autocommit, now=measured + 2 * LATE_AFTER)
    assert answer["status"] == "paused" and health.is_healthy(answer)


def test_off_reports_nothing_of_the_canary(rows, autocommit, monkeypatch):
    rows.round_trip()
    monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "False")

    answer = health.check(autocommit)

    assert answer["canary"] == "off" and answer["status"] == "off"
    assert answer["round_trip_ms"] is None and answer["message_id"] is None
    assert health.is_healthy(answer)


def test_no_database_is_unhealthy(canary_on):
    answer = health.check(None)

    assert answer["database"] == {"status": "unhealthy"} and answer["status"] == "failing"
    assert not health.is_healthy(answer)


def rows_body() -> dict:
    from openfn_airflow.canary.sending import canary_body

    return canary_body()


class switched_off:
    """The DAG paused in Airflow's ``dag`` table (the row made as Airflow leaves it, if none)."""

    def __init__(self, conn: psycopg.Connection[Any], dag_id: str) -> None:
        self.conn, self.dag_id = conn, dag_id

    def __enter__(self) -> None:
        self.conn.execute(
            "INSERT INTO dag_bundle (name, active) VALUES ('dags-folder', true) "
            "ON CONFLICT DO NOTHING"
        )
        before = self.conn.execute(
            "SELECT is_paused FROM dag WHERE dag_id = %s", [self.dag_id]
        ).fetchone()
        self.before = None if before is None else before["is_paused"]
        if self.before is None:
            self.conn.execute(
                "INSERT INTO dag (dag_id, is_paused, is_stale, bundle_name, timetable_type, "
                "partition_mapper_info, max_active_tasks, max_consecutive_failed_dag_runs, "
                "has_task_concurrency_limits) VALUES (%s, true, false, 'dags-folder', "
                "'CronTriggerTimetable', '{}', 16, 0, false)",
                [self.dag_id],
            )
        else:
            self.conn.execute("UPDATE dag SET is_paused = true WHERE dag_id = %s", [self.dag_id])

    def __exit__(self, *exc_info: object) -> None:
        if self.before is None:
            self.conn.execute("DELETE FROM dag WHERE dag_id = %s", [self.dag_id])
        else:
            self.conn.execute(
                "UPDATE dag SET is_paused = %s WHERE dag_id = %s", [self.before, self.dag_id]
            )
