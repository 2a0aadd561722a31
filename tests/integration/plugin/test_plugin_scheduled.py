"""Reprocess and retry end to end: the real api-server (plugin, dispatcher), scheduler and workers.

Called over HTTP with a JWT from ``POST /auth/token``, as a script or the UI would; the tests
read the run ledger to check that exactly the runs the API announced happened.
"""

from __future__ import annotations

import time

import httpx
import pytest
from cluster import settle, wait_for
from factories import make_message
from plugin_helpers import API

from openfn_airflow.store import runs

pytestmark = [pytest.mark.integration, pytest.mark.scheduler]

FINISHED = ("success", "failed", "killed", "crashed", "lost")


@pytest.fixture(scope="module")
def cluster(shared_cluster, db_url):
    import psycopg

    settle(db_url, shared_cluster)

    def ready() -> bool:
        # The intake DAG parsed and unpaused, and its trigger in the registry (the dispatcher
        # syncs it from the specs).
        with psycopg.connect(db_url) as conn:
            return conn.execute(
                "SELECT EXISTS (SELECT FROM dag WHERE dag_id = 'openfn__core__intake' "
                "AND NOT is_stale AND NOT is_paused) "
                "AND EXISTS (SELECT FROM openfn_trigger WHERE project = 'core' AND name = 'forms')"
            ).fetchone()[0]

    wait_for(ready, 180, "the core project's DAGs and registry", shared_cluster)
    return shared_cluster


@pytest.fixture
def client(cluster) -> httpx.Client:
    headers = {"Authorization": f"Bearer {cluster.token()}"}
    return httpx.Client(base_url=cluster.url, headers=headers, timeout=60)


def finished_runs(conn, job: str) -> list[dict]:
    conn.rollback()
    rows = runs.list_runs(conn, project="core", job=job, limit=1000)
    return [runs.get_run(conn, row["id"]) for row in reversed(rows) if row["status"] in FINISHED]


def test_reprocess_then_retry_run_exactly_what_they_announce(cluster, client, conn, fake_api):
    conn.execute("DELETE FROM openfn_run WHERE project = 'core'")
    names = ["Ada", "Grace", "Alan"]
    made = [make_message(conn, project="core", body={"form": "intake", "name": n}) for n in names]
    make_message(conn, project="core", body={"form": "something else"})
    conn.commit()
    ids = [m["id"] for m in made]
    scope = {"project": "core", "from_id": ids[0], "to_id": ids[-1] + 1}

    dry = client.post(f"{API}/messages/reprocess", json={**scope, "dry_run": True}).json()
    assert dry == {"dry_run": True, "count": 4, "dispatches": 3, "messages_with_matches": 3}
    done = client.post(f"{API}/messages/reprocess", json=scope).json()
    assert done["dispatches"] == 3

    intake = wait_for(
        lambda: (found := finished_runs(conn, "intake")) and len(found) >= 3 and found,
        120,
        "the reprocessed messages' runs",
        cluster,
    )
    assert sorted(r["message_id"] for r in intake) == ids  # one run per message, no more
    assert all(r["status"] == "success" and r["trigger"] == "message" for r in intake)
    assert {r["initial_state"]["data"]["name"] for r in intake} == set(names)
    assert finished_runs(conn, "not-listening") == []  # autoprocess off: not run

    first, last = min(r["id"] for r in intake), max(r["id"] for r in intake)
    retry_scope = {"project": "core", "job": "intake", "from_id": first, "to_id": last}
    dry = client.post(f"{API}/runs/retry", json={**retry_scope, "dry_run": True}).json()
    assert dry["count"] == 3 and dry["jobs"] == {"core/intake": 3}
    answer = client.post(f"{API}/runs/retry", json=retry_scope).json()
    assert answer["skipped"] == [] and len(answer["retried"]) == 3

    def retries() -> list[dict]:
        return [r for r in finished_runs(conn, "intake") if r["retry_of"] is not None]

    done_retries = wait_for(lambda: len(retries()) >= 3 and retries(), 120, "the retries", cluster)
    time.sleep(2)  # nothing more arrives
    assert len(retries()) == 3
    by_old = {r["retry_of"]: r for r in done_retries}
    assert sorted(by_old) == sorted(r["id"] for r in intake)
    announced = {r["run_id"]: r["dag_run_id"] for r in answer["retried"]}
    for old in intake:
        new = by_old[old["id"]]
        assert new["initial_state"] == old["initial_state"]
        assert new["message_id"] == old["message_id"] and new["status"] == "success"
        assert new["dag_run_id"] == announced[old["id"]]
