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


def test_a_burst_shares_dag_runs_and_a_quiet_inbox_gets_one_per_message(cluster, conn):
    """`register` and its `follow-up` are `runs: auto` (the default), with the cluster's
    parallelism of 8 as threshold."""
    inbox = f"{cluster.url}/openfn/inbox/{INBOX_ID}"
    with httpx.Client() as client:
        burst = [
            client.post(inbox, json={"form": "patient", "n": n}).json()["message_id"]
            for n in range(40)
        ]

    def ran(job: str, count: int) -> list[dict] | None:
        done = [r for r in finished(conn, job) if r["message_id"] in burst]
        return done if len(done) >= count else None

    registered = wait_for(lambda: ran("register", 40), 240, "the burst's register runs", cluster)
    assert sorted(r["message_id"] for r in registered) == burst  # each message exactly once
    assert all(r["status"] == "success" for r in registered)
    dag_runs = {r["dag_run_id"] for r in registered}
    assert len(dag_runs) < 20, dag_runs  # most messages shared a DAG run
    follow_ups = wait_for(lambda: ran("follow-up", 40), 240, "the chained runs", cluster)
    assert sorted(r["upstream_run_id"] for r in follow_ups) == sorted(r["id"] for r in registered)
    assert len({r["dag_run_id"] for r in follow_ups}) <= len(dag_runs)

    quiet = []
    for n in range(3):  # each after the one before has run: nothing waits
        message_id = httpx.post(inbox, json={"form": "patient", "q": n}).json()["message_id"]
        quiet.append(message_id)
        wait_for(
            lambda m=message_id: [r for r in finished(conn, "register") if r["message_id"] == m],
            180,
            "a quiet message's run",
            cluster,
        )
    alone = [r for r in finished(conn, "register") if r["message_id"] in quiet]
    assert len({r["dag_run_id"] for r in alone}) == 3
    for dag_run_id in {r["dag_run_id"] for r in alone}:
        conn.rollback()
        shared = conn.execute(
            "SELECT count(*) AS n FROM openfn_run WHERE dag_run_id = %s AND job = 'register'",
            [dag_run_id],
        ).fetchone()
        assert shared["n"] == 1  # its DAG run ran that message alone
