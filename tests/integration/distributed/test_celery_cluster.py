"""The distributed topology: two api-servers, two Celery workers, one scheduler, PostgreSQL.

A burst of messages goes alternately to both api-servers' inboxes; one worker is killed (with
everything it started) in the middle. Every acknowledged message must get exactly one run of
each job it matches, whichever api-server took it and whichever dispatcher scheduled it (the job
is ``runs: auto``: a DAG run of its own while the job keeps up, a DAG run shared with the other
messages waiting when it does not), and no run may be silently dropped: each ends in success, or
failed and reported in the ledger.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery_cluster import CeleryCluster, redis_available
from cluster import count_dags, fresh_start, wait_for

DAGS_FOLDER = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
INBOX_ID = "5f0c6a43-8f7e-4d59-9a53-5a3d2b6e9c01"  # tests/integration/projects/inbox
INBOX_JOBS = 6
REGISTER_DAG = "openfn__inbox__register"
FINAL_LEDGER = ("success", "failed", "killed", "crashed", "lost")
# Messages posted before one worker is killed, and after: enough that both workers hold tasks
# when one is lost (each runs 4 at once) and that the survivor takes over what follows.
FIRST, SECOND = 20, 10

pytestmark = [pytest.mark.integration, pytest.mark.scheduler, pytest.mark.distributed]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, sqlalchemy_url, db_url):
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis does not answer at 127.0.0.1:6379: the distributed tests need it")
        pytest.skip("Redis does not answer at 127.0.0.1:6379")
    fresh_start(db_url)
    started = CeleryCluster(
        tmp_path_factory.mktemp("airflow-home-celery"), sqlalchemy_url, DAGS_FOLDER
    )
    started.start()
    try:
        wait_for(
            lambda: count_dags(db_url, "openfn__inbox__") == INBOX_JOBS,
            180,
            "the inbox project's DAGs to be parsed",
            started,
        )
        # The session database may hold these DAGs as an earlier cluster serialized them, with
        # its task queue: runs made from that version would wait on a queue no worker reads.
        wait_for(
            lambda: dag_uses_queue(REGISTER_DAG, started.queue),
            180,
            "the DAGs parsed again with this cluster's queue",
            started,
        )
        for url in started.urls:
            inbox = f"{url}/openfn/inbox/{INBOX_ID}"
            wait_for(lambda i=inbox: httpx.get(i).status_code == 200, 60, "the inbox", started)
        yield started
    finally:
        started.stop()


def dag_uses_queue(dag_id: str, queue: str) -> bool:
    """Whether the newest serialized version of the DAG sends its tasks to ``queue``."""
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        model = SerializedDagModel.get(dag_id, session=session)
        return model is not None and all(task.queue == queue for task in model.dag.tasks)


def post_burst(urls: list[str], run_id: str, start: int, count: int, clients: int = 4) -> dict:
    """POST ``count`` patient forms, message n to api-server n % len(urls); return n -> answer."""
    answers: dict[int, tuple[int, dict]] = {}
    numbers = iter(range(start, start + count))
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while True:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                url = f"{urls[n % len(urls)]}/openfn/inbox/{INBOX_ID}"
                answer = http.post(url, json={"form": "patient", "celery": run_id, "n": n})
                with lock:
                    answers[n] = (answer.status_code, answer.json())

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


def dag_runs_per_message(conn, message_ids: list[int], since: Any) -> dict[int, list[dict]]:
    """The register DAG's runs of each message: those its own event started (a message that
    had a DAG run of its own) and those the ledger says ran it (one taken from the job's queue
    of pending runs by a DAG run that several messages shared).

    Only events from ``since`` on: message ids start at 1 again after each module's fresh start,
    and the events of earlier modules' messages 1, 2, ... are still in Airflow's tables. Events
    that only wake a DAG run for the queue (``queued``) name no message of their own.
    """
    conn.rollback()
    rows = conn.execute(
        "SELECT (e.extra::jsonb -> 'message_ids' ->> 0)::bigint AS message_id, dr.run_id, "
        "dr.state, 'own' AS how FROM asset_event AS e "
        "JOIN dag_run AS dr ON dr.partition_key = e.partition_key AND dr.dag_id = %(dag)s "
        "WHERE (e.extra::jsonb -> 'message_ids' ->> 0)::bigint = ANY(%(ids)s) "
        "AND e.timestamp >= %(since)s AND e.extra::jsonb ->> 'queued' IS NULL "
        "UNION SELECT r.message_id, dr.run_id, dr.state, 'ledger' FROM openfn_run AS r "
        "JOIN dag_run AS dr ON dr.dag_id = r.dag_id AND dr.run_id = r.dag_run_id "
        "WHERE r.job = 'register' AND r.message_id = ANY(%(ids)s)",
        {"dag": REGISTER_DAG, "ids": message_ids, "since": since},
    ).fetchall()
    found: dict[int, list[dict]] = {}
    for row in rows:
        found.setdefault(row["message_id"], []).append(row)
    return found


def ledger(conn, message_ids: list[int]) -> dict[int, list[dict]]:
    conn.rollback()
    rows = conn.execute(
        "SELECT message_id, status, exit_code, dag_run_id FROM openfn_run "
        "WHERE job = 'register' AND message_id = ANY(%s) ORDER BY id",
        [message_ids],
    ).fetchall()
    found: dict[int, list[dict]] = {}
    for row in rows:
        found.setdefault(row["message_id"], []).append(row)
    return found


def test_a_burst_over_two_api_servers_survives_a_lost_worker(cluster, conn):
    run_id = str(time.time())
    since = conn.execute("SELECT now() AS now").fetchone()["now"]
    first = post_burst(cluster.urls, run_id, 0, FIRST)

    # Once both workers have taken tasks, one of them is lost with whatever it was running.
    def both_workers_busy() -> bool:
        return all("received" in cluster.worker_log(name) for name in cluster.workers)

    wait_for(both_workers_busy, 180, "tasks on both workers", cluster)
    cluster.kill("worker-2")
    second = post_burst(cluster.urls, run_id, FIRST, SECOND)

    answers = {**first, **second}
    assert sorted(answers) == list(range(FIRST + SECOND))
    assert {status for status, _ in answers.values()} == {202}
    assert all(body["matched"] == ["patients"] for _, body in answers.values())
    message_ids = sorted(body["message_id"] for _, body in answers.values())
    assert len(set(message_ids)) == FIRST + SECOND

    def every_run_settled() -> tuple[dict, dict] | None:
        runs = dag_runs_per_message(conn, message_ids, since)
        books = ledger(conn, message_ids)
        if len(runs) < len(message_ids):
            return None
        if any(run["state"] not in ("success", "failed") for rs in runs.values() for run in rs):
            return None
        if any(e["status"] not in FINAL_LEDGER for es in books.values() for e in es):
            return None  # pending in the job's queue, or running
        return runs, books

    runs, books = wait_for(every_run_settled, 420, "every message's DAG run to finish", cluster)
    # Neither api-server's dispatcher gave a message two DAG runs of its own.
    own = {m: [r for r in rs if r["how"] == "own"] for m, rs in runs.items()}
    assert {m: len(rs) for m, rs in own.items() if len(rs) > 1} == {}

    failed = {m for m, rs in runs.items() if any(r["state"] == "failed" for r in rs)}
    for message_id in message_ids:
        entries = books.get(message_id, [])
        if message_id not in failed:
            # A message whose DAG runs succeeded in Airflow succeeded once in the ledger.
            assert [e["status"] for e in entries] == ["success"], (message_id, entries)
        else:
            # A run lost with the worker failed its DAG run in Airflow and, if it had started,
            # is reported as lost (exit 5) in the ledger rather than left "running"; never two
            # successes.
            assert all(e["status"] in FINAL_LEDGER for e in entries), (message_id, entries)
            assert [e["status"] for e in entries].count("success") <= 1, (message_id, entries)
    dag_runs = {r["run_id"]: r["state"] for rs in runs.values() for r in rs}
    failed_dag_runs = {run_id for run_id, state in dag_runs.items() if state == "failed"}
    lost = sum(1 for entries in books.values() for e in entries if e["status"] == "lost")
    print(
        f"{len(message_ids)} messages in {len(dag_runs)} DAG runs; {len(failed_dag_runs)} DAG "
        f"runs failed with the killed worker ({len(failed)} messages, {lost} runs lost)"
    )
    # Whatever the dead worker held, the rest was run by the surviving worker.
    assert len(failed_dag_runs) <= cluster.concurrency * 2
    assert len(dag_runs) <= len(message_ids)
