"""The api-server is killed in the middle of a burst of POSTs: nothing acknowledged is lost,
nothing is half written, and once an api-server runs again every message runs exactly once."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import httpx
import pytest
from cluster import Cluster, settle, wait_for
from inbox_helpers import INBOX_ID, wait_for_inbox

pytestmark = [pytest.mark.integration, pytest.mark.scheduler]

CLIENTS = 4
KILL_AFTER_ACCEPTED = 12


@pytest.fixture(scope="module")
def cluster(shared_cluster, db_url):
    """The session's shared cluster: the test kills and restarts its api-server and scheduler,
    and leaves them running for the next module."""
    settle(db_url, shared_cluster)
    wait_for_inbox(shared_cluster, db_url)
    return shared_cluster


def stop(cluster: Cluster, name: str, sig: int = signal.SIGTERM) -> None:
    """Stop one component (it is started again with ``cluster._spawn``)."""
    process = cluster.processes.pop(name)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    process.wait(60)


def burst(cluster: Cluster, run_id: str) -> tuple[list[int], list[int], int]:
    """POST from several clients until the api-server is killed; return what each request got."""
    inbox = f"{cluster.url}/openfn/inbox/{INBOX_ID}"
    accepted: list[int] = []
    refused: list[int] = []
    cut = 0
    lock = threading.Lock()
    killed = threading.Event()
    counter = iter(range(10**6))

    def client() -> None:
        nonlocal cut
        with httpx.Client(timeout=10) as http:
            while not killed.is_set():
                n = next(counter)
                body = {"form": "patient", "crash": run_id, "n": n}
                try:
                    answer = http.post(inbox, json=body)
                except httpx.HTTPError:
                    with lock:
                        cut += 1
                    continue
                with lock:
                    if answer.status_code == 202:
                        accepted.append(answer.json()["message_id"])
                    else:
                        refused.append(n)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(accepted) < KILL_AFTER_ACCEPTED and time.monotonic() < deadline:
        time.sleep(0.01)
    stop(cluster, "api-server", signal.SIGKILL)
    time.sleep(1)  # requests in flight fail against the dead server
    killed.set()
    for thread in threads:
        thread.join(30)
    return accepted, refused, cut


def test_kill_the_api_server_mid_burst(cluster, conn):
    # No task may start while the api-server is down: tasks need its execution API, and a task
    # cut off from it fails in Airflow, which is not what this test is about. Asset events
    # registered meanwhile wait for the scheduler.
    stop(cluster, "scheduler")
    run_id = str(time.time())
    accepted, refused, cut = burst(cluster, run_id)
    assert len(accepted) >= KILL_AFTER_ACCEPTED

    conn.rollback()
    stored = conn.execute(
        "SELECT m.id, count(d.id) AS dispatches FROM openfn_message AS m "
        "LEFT JOIN openfn_dispatch AS d ON d.message_id = m.id "
        "WHERE m.body ->> 'crash' = %s GROUP BY m.id ORDER BY m.id",
        [run_id],
    ).fetchall()
    stored_ids = {row["id"] for row in stored}
    # every acknowledged message is there; every stored one has its dispatch row (none half there)
    assert set(accepted) <= stored_ids
    assert all(row["dispatches"] == 1 for row in stored)
    # at most the requests cut by the kill were stored without an answer
    assert len(stored_ids) <= len(accepted) + cut
    assert refused == []

    # A new api-server process: its dispatcher finishes what the killed one had claimed.
    cluster._spawn("api-server", "api-server", "--port", str(cluster.port))
    cluster.wait_healthy(300)
    cluster._spawn("scheduler", "scheduler")

    def ledger() -> list[dict] | None:
        conn.rollback()
        rows = conn.execute(
            "SELECT message_id, count(*) AS runs FROM openfn_run "
            "WHERE job = 'register' AND message_id = ANY(%s) AND status = 'success' "
            "GROUP BY message_id",
            [sorted(stored_ids)],
        ).fetchall()
        return rows if len(rows) == len(stored_ids) else None

    try:
        rows = wait_for(ledger, 300, f"{len(stored_ids)} register runs", cluster)
    except AssertionError:
        conn.rollback()
        states = conn.execute(
            "SELECT status, count(*) FROM openfn_run WHERE job = 'register' "
            "AND message_id = ANY(%s) GROUP BY status",
            [sorted(stored_ids)],
        ).fetchall()
        waiting = conn.execute(
            "SELECT count(*) FROM openfn_dispatch WHERE dispatched_at IS NULL"
        ).fetchone()
        raise AssertionError(f"ledger: {states}; dispatch rows pending: {waiting}") from None
    assert all(row["runs"] == 1 for row in rows)
    time.sleep(5)  # a duplicate event would show up as a second run by now
    conn.rollback()
    pending = conn.execute(
        "SELECT count(*) AS n FROM openfn_dispatch WHERE dispatched_at IS NULL"
    ).fetchone()
    assert pending["n"] == 0
    again = ledger()
    assert again is not None and all(row["runs"] == 1 for row in again)
    dag_runs = conn.execute(
        "SELECT count(*) AS n FROM openfn_run WHERE job = 'register' AND message_id = ANY(%s)",
        [sorted(stored_ids)],
    ).fetchone()
    assert dag_runs["n"] == len(stored_ids)
