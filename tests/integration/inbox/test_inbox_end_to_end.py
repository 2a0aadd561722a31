"""A POST to the real api-server's inbox runs every matching job through the real scheduler.

The api-server mounts the plugin app; its dispatcher (started by the app's lifespan) syncs the
registry from the DAGs folder and turns dispatch rows into asset events.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from cluster import Cluster, count_dags, fresh_start, wait_for
from inbox_helpers import INBOX_ID

from openfn_airflow.store import runs

# The temporary DAGs folder the integration conftest made (dags/ plus the test projects).
DAGS_FOLDER = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
pytestmark = [pytest.mark.integration, pytest.mark.scheduler]

INBOX_JOBS = 6  # every non-archived job of tests/integration/projects/inbox/project.yaml


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, sqlalchemy_url, db_url):
    home: Path = tmp_path_factory.mktemp("airflow-home-inbox")
    fresh_start(db_url)
    started = Cluster(home, sqlalchemy_url, DAGS_FOLDER).start()
    try:
        wait_for(
            lambda: count_dags(db_url, "openfn__inbox__") == INBOX_JOBS,
            180,
            "the inbox project's DAGs to be parsed",
            started,
        )
        inbox = f"{started.url}/openfn/inbox/{INBOX_ID}"
        wait_for(lambda: httpx.get(inbox).status_code == 200, 60, "the inbox", started)
        yield started
    finally:
        started.stop()


def finished(conn, job: str) -> list[dict]:
    conn.rollback()
    rows = runs.list_runs(conn, project="inbox", job=job, limit=1000)
    return [runs.get_run(conn, r["id"]) for r in rows if r["status"] not in ("pending", "running")]


def test_post_runs_every_matching_job_once(cluster, conn):
    inbox = f"{cluster.url}/openfn/inbox/{INBOX_ID}"
    body = {"form": "patient", "name": "Ada"}

    accepted = httpx.post(inbox, json=body)
    excluded = httpx.post(inbox, json={"form": "patient", "test": True})
    by_hand = httpx.post(inbox, json={"form": "by-hand"})
    switched_off = httpx.post(inbox, json={"form": "switched-off"})

    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["matched"] == ["patients"]
    assert excluded.json()["matched"] == by_hand.json()["matched"] == []
    assert switched_off.json()["matched"] == []
    message_id = accepted.json()["message_id"]

    [run] = wait_for(lambda: finished(conn, "register"), 180, "the register run", cluster)
    assert run["message_id"] == message_id and run["status"] == "success"
    assert run["initial_state"]["data"] == body
    assert run["initial_state"]["request"]["path"] == f"/openfn/inbox/{INBOX_ID}"
    [follow_up] = wait_for(
        lambda: [r for r in finished(conn, "follow-up") if r["upstream_run_id"] == run["id"]],
        180,
        "the chained run",
        cluster,
    )
    assert follow_up["upstream_run_id"] == run["id"]

    conn.rollback()
    dispatch = conn.execute(
        "SELECT message_id, dispatched_at FROM openfn_dispatch WHERE message_id >= %s",
        [message_id],
    ).fetchall()
    assert [row["message_id"] for row in dispatch] == [message_id]
    assert dispatch[0]["dispatched_at"] is not None
    assert finished(conn, "register") == [run]  # the excluded message started nothing
    assert finished(conn, "by-hand") == finished(conn, "switched-off") == []
