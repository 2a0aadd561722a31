"""The canary with the real Airflow processes: its send job POSTs a message over HTTP to its
own inbox, the dispatcher and the scheduler start its receive job on it, and
``GET /openfn/health`` then reports the round trip; a send that fails makes it 503.

One cluster with a DAGs folder holding only openfn_jobs.py (so it parses at once); the cron
job is started by hand, as "Run now" does, rather than waited for.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import httpx
import pytest
from cluster import Cluster, count_dags, finished_runs, fresh_start, wait_for

from openfn_airflow import canary

pytestmark = [pytest.mark.integration, pytest.mark.scheduler]

REPO_DAGS = Path(__file__).resolve().parents[3] / "dags"
SEND = f"openfn__{canary.PROJECT}__{canary.SEND_JOB}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, sqlalchemy_url, db_url):
    dags = tmp_path_factory.mktemp("canary-dags")
    shutil.copy(REPO_DAGS / "openfn_jobs.py", dags / "openfn_jobs.py")
    fresh_start(db_url)
    started = Cluster(
        tmp_path_factory.mktemp("airflow-home"),
        sqlalchemy_url,
        dags,
        AIRFLOW__OPENFN__CANARY="True",
    ).start()
    try:
        wait_for(
            lambda: count_dags(db_url, f"openfn__{canary.PROJECT}__") == 2,
            120,
            "the canary's two DAGs to be parsed",
            started,
        )
        yield started
    finally:
        started.stop()


def finished_run(cluster: Cluster, conn, job: str, **match) -> dict:
    """Wait for the canary job's one finished ledger run whose fields are ``match``."""
    [run] = wait_for(
        lambda: [
            r
            for r in finished_runs(conn, canary.PROJECT, job)
            if all(r[key] == value for key, value in match.items())
        ],
        90,
        f"the {job} job's run with {match}",
        cluster,
    )
    return run


def run_send(cluster: Cluster, conn) -> dict:
    """Start the send job now (as "Run now" does) and return its finished ledger run."""
    answer = cluster.api("POST", f"/dags/{SEND}/dagRuns", json={"logical_date": None})
    assert answer.status_code == 200, answer.text
    return finished_run(cluster, conn, canary.SEND_JOB, dag_run_id=answer.json()["dag_run_id"])


def health(cluster: Cluster) -> httpx.Response:
    return httpx.get(f"{cluster.url}/openfn/health", timeout=30)  # no login


def test_the_round_trip_is_reported_then_a_failing_send_is_503(cluster, conn):
    started = time.monotonic()
    sent = run_send(cluster, conn)
    assert sent["exit_code"] == 0, sent["log"]
    message_id = sent["final_state"]["message_id"]
    received = finished_run(cluster, conn, canary.RECEIVE_JOB, message_id=message_id)
    assert received["exit_code"] == 0 and received["trigger"] == "message", received["log"]
    assert received["dag_run_id"].startswith("asset_triggered__")
    took_ms = (time.monotonic() - started) * 1000

    answer = health(cluster)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["canary"] == "on" and body["status"] == "ok"
    assert body["database"] == {"status": "healthy"}
    if body["message_id"] == message_id:  # else a cron tick's message came through after it
        assert dt.datetime.fromisoformat(body["measured_at"]) == received["finished_at"]
    assert 0 < body["round_trip_ms"] < took_ms
    stages = body["stages_ms"]
    assert all(value is not None and value >= 0 for value in stages.values()), stages
    assert abs(sum(stages.values()) - body["round_trip_ms"]) <= 3
    # what the send job's log says, without the inbox id (readers of the job see its log)
    [project] = conn.execute(
        "SELECT inbox_id::text AS id FROM openfn_project WHERE name = %s", [canary.PROJECT]
    ).fetchall()
    assert f"canary message {message_id} stored by the inbox" in sent["log"]
    assert project["id"] not in sent["log"]

    # an API key on the canary's inbox: the send job's anonymous POST is refused (401)
    from openfn_airflow.inbox import auth_methods

    auth_methods.add_api_key(conn, canary.PROJECT)
    conn.commit()
    failed = run_send(cluster, conn)
    assert failed["exit_code"] == 1 and "answered 401" in failed["log"], failed["log"]
    assert project["id"] not in failed["log"]

    answer = health(cluster)

    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["status"] == "failing" and body["failed_job"] == canary.SEND_JOB
    assert body["round_trip_ms"] is not None  # the last round trip that made it is still told
