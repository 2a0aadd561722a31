"""``GET /openfn/health`` in Airflow's real api-server app: public, 503 when the canary is late
or failing or the database does not answer, and telling nothing but the canary's timings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from canary_rows import CanaryRows
from factories import make_message, make_run
from plugin_helpers import API, unreachable_database_url
from psycopg.rows import dict_row

from openfn_airflow import canary

pytestmark = pytest.mark.integration

HEALTH = "/openfn/health"
FIELDS = {
    "canary",
    "status",
    "database",
    "interval_s",
    "round_trip_ms",
    "measured_at",
    "message_id",
    "stages_ms",
    "failed_job",
}


@pytest.fixture
def rows(db_url: str, clean_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[CanaryRows]:
    monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "True")
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        made = CanaryRows(conn)
        yield made
        made.remove()


def test_anyone_may_ask_and_off_is_healthy(anonymous, clean_db):
    answer = anonymous.get(HEALTH)

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == FIELDS
    assert body["canary"] == "off" and body["status"] == "off"
    assert body["database"] == {"status": "healthy"}


def test_a_round_trip_answers_200_with_only_the_canarys_timings(anonymous, rows):
    # another project's activity beside it, as busy as can be
    other = make_message(rows.conn, project="core", body={"form": "intake", "name": "Ada"})
    make_run(rows.conn, project="core", job="intake", trigger="message", message_id=other["id"])
    make_run(rows.conn, project="core", job="intake", trigger="message", status="failed")
    message_id, run_id = rows.round_trip()

    answer = anonymous.get(HEALTH)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok" and body["canary"] == "on"
    assert body["message_id"] == message_id
    assert 0 < body["round_trip_ms"] < 10_000
    finished = rows.conn.execute(
        "SELECT finished_at FROM openfn_run WHERE id = %s", [run_id]
    ).fetchone()["finished_at"]
    assert dt.datetime.fromisoformat(body["measured_at"]) == finished
    assert set(body["stages_ms"]) == {
        "inbox_to_dispatch",
        "dispatch_to_queued",
        "queued_to_start",
        "run",
    }
    # nothing of the other project, nor the canary's inbox id, log or states
    assert body["message_id"] != other["id"]
    for secret in ("Ada", "intake", "core", rows.inbox_id):
        assert secret not in answer.text, secret


def test_a_failing_canary_answers_503(anonymous, rows):
    rows.round_trip()
    rows.run(canary.SEND_JOB, trigger="cron", status="failed")

    answer = anonymous.get(HEALTH)

    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["status"] == "failing" and body["failed_job"] == canary.SEND_JOB
    # The failed run's log stays on its page ("404" alone was found in a timestamp's
    # microseconds, 18:59:45.704042).
    assert "the inbox answered" not in answer.text


def test_a_database_that_does_not_answer_is_503(anonymous, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "True")
    monkeypatch.setenv("AIRFLOW__OPENFN__DATABASE_URL", unreachable_database_url())

    answer = anonymous.get(HEALTH)

    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["database"] == {"status": "unhealthy"} and body["status"] == "failing"
    assert "127.0.0.1" not in answer.text


def test_it_is_in_the_served_schema(viewer: Any):
    schema = viewer.get("/openfn/api/v1/openapi.json").json()
    assert set(schema["paths"]["/health"]) == {"get"}


def test_its_messages_and_jobs_show_under_its_own_project_only(viewer, rows, monkeypatch):
    from openfn_airflow.bundles import folders
    from openfn_airflow.inbox.registry import sync_projects

    monkeypatch.setattr(folders, "_listed", {})  # the listing of the DAGs folder, canary on now
    sync_projects(rows.conn, [Path(__file__).resolve().parents[1] / "projects"], prune=False)
    other = make_message(rows.conn, project="core", body={"form": "intake"})
    message_id, run_id = rows.round_trip()

    def ids(path: str) -> list[int]:
        answer = viewer.get(f"{API}/{path}")
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert ids(f"messages?project={canary.PROJECT}") == [message_id]
    assert ids("messages?project=core") == [other["id"]]
    assert run_id in ids(f"runs?project={canary.PROJECT}")
    assert ids("runs?project=core") == []
    jobs = viewer.get(f"{API}/jobs", params={"project": canary.PROJECT}).json()["items"]
    assert sorted(job["name"] for job in jobs) == sorted(canary.JOBS)
    core_jobs = viewer.get(f"{API}/jobs", params={"project": "core"}).json()["items"]
    assert core_jobs and all(job["project"] == "core" for job in core_jobs)
