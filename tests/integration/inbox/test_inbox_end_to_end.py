"""A POST to the real api-server's inbox runs every matching job through the real scheduler.

The api-server mounts the plugin app; its dispatcher (started by the app's lifespan) syncs the
registry from the DAGs folder and turns dispatch rows into asset events.
"""

from __future__ import annotations

import httpx
import pytest
from cluster import settle, wait_for
from inbox_helpers import INBOX_ID, wait_for_inbox

from openfn_airflow.store import runs

pytestmark = [pytest.mark.integration, pytest.mark.scheduler]


@pytest.fixture(scope="module")
def cluster(shared_cluster, db_url):
    settle(db_url, shared_cluster)
    wait_for_inbox(shared_cluster, db_url)
    return shared_cluster


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
    assert run["initial_state"]["request"]["path"] == "/openfn/inbox/{inbox}"
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
