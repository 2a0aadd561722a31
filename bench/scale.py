"""Benchmark the distributed topology against the single-machine one, in the same run.

Run from the repository root (needs Redis at 127.0.0.1:6379)::

    .venv/bin/python bench/scale.py [--requests 400] [--messages 200]

Two topologies, one after the other, each on a fresh ``openfn_bench_scale`` database with
``bench/project`` (``tests/cluster.py`` and ``tests/celery_cluster.py``):

- **local** (the baseline): one api-server, scheduler and dag-processor, LocalExecutor with 8
  task slots (``[core] parallelism``);
- **celery**: two api-servers on their own ports, one scheduler and dag-processor, two Celery
  workers of 4 slots each (8 in all) with the local Redis, each worker's tasks talking to its own
  api-server.

Each is measured the same way: the inbox rate (``--requests`` POSTs from 16 clients, spread
evenly over the topology's api-servers, bodies for the batched job so few DAG runs follow), then
end-to-end throughput: ``--messages`` messages for the per-message job (one DAG run each), from
the first POST to the last successful ledger run, in messages per second. Printed: both figures
for each topology and the ratio celery / local. All components share this machine's cores, so
the figures say what the extra processes cost here, not what more machines would give.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import environment
import httpx
from inbox import BODY_PAD, hammer, machine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="inbox POSTs (16 clients)")
    parser.add_argument("--messages", type=int, default=200, help="messages run end to end")
    args = parser.parse_args()
    env = environment.configure()
    sys.path.insert(0, str(environment.REPO / "tests"))
    from celery_cluster import CeleryCluster, redis_available
    from cluster import Cluster

    if not redis_available():
        print("Redis does not answer at 127.0.0.1:6379: the celery topology needs it")
        return 1
    environment.build_dags_folder(env)
    results = {}
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    try:
        for name in ("local", "celery"):
            environment.recreate_database()
            environment.migrate(env)
            home = env.home / name
            home.mkdir()
            if name == "local":
                cluster = Cluster(home, env.sqlalchemy_url, env.dags_folder)
            else:
                cluster = CeleryCluster(home, env.sqlalchemy_url, env.dags_folder)
            try:
                cluster.start(timeout=180)
                results[name] = measure(cluster, env, args.requests, args.messages)
            finally:
                cluster.stop()
    finally:
        environment.remove(env)

    local, celery = results["local"], results["celery"]
    print(f"# bench/scale.py, {machine()}")
    print(
        f"{args.requests} inbox POSTs from 16 clients; {args.messages} messages end to end "
        f"(one DAG run each); load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end; {time.monotonic() - started:.0f} s in all"
    )
    print()
    print(
        "| measure | local (1 api-server, LocalExecutor) | celery (2 api-servers, 2 workers) "
        "| celery / local |"
    )
    print("|---|---|---|---|")
    rows = [
        ("inbox rate, 16 clients (req/s)", "rate", "{:.1f}"),
        ("inbox p50 latency (ms)", "p50", "{:.1f}"),
        ("inbox p99 latency (ms)", "p99", "{:.1f}"),
        ("end to end, message -> successful run (messages/s)", "throughput", "{:.2f}"),
        ("end to end, last run done after (s)", "seconds", "{:.1f}"),
    ]
    for label, key, fmt in rows:
        ratio = celery[key] / local[key] if local[key] else float("nan")
        print(f"| {label} | {fmt.format(local[key])} | {fmt.format(celery[key])} | {ratio:.2f}x |")
    failures = local["failures"] + celery["failures"]
    if failures:
        print(f"failed requests: local {local['failures']}, celery {celery['failures']}")
    return 0


def urls_of(cluster) -> list[str]:
    return list(getattr(cluster, "urls", [cluster.url]))


def measure(cluster, env: environment.Environment, requests: int, messages: int) -> dict:
    """The inbox rate, then the end-to-end throughput, of one running topology."""
    from cluster import count_dags, wait_for

    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store.database import connect
    from openfn_airflow.store.projects import get_project

    wait_for(lambda: count_dags(env.db_url, "openfn__bench__") == 2, 240, "bench DAGs", cluster)
    with connect(env.db_url) as conn:
        sync_projects(conn, env.dags_folder)
        conn.commit()
        project = get_project(conn, "bench")
    assert project is not None
    inboxes = [f"{url}/openfn/inbox/{project['inbox_id']}" for url in urls_of(cluster)]
    for inbox in inboxes:
        wait_for(lambda i=inbox: httpx.get(i).status_code == 200, 60, "the inbox", cluster)
    wait_for(lambda: per_message_job_listens(env.db_url), 120, "the trigger assets", cluster)

    def post(kind: str, phase: str):
        def send(http: httpx.Client, n: int) -> int:
            body = {"bench": kind, "phase": phase, "n": n, "pad": BODY_PAD}
            return http.post(inboxes[n % len(inboxes)], json=body).status_code

        return send

    hammer(post("batched", "warm-up"), 2, 40)
    rate = hammer(post("batched", "rate"), 16, requests)
    first_post = time.time()
    sent = hammer(post("per-message", "e2e"), 16, messages)
    done_at = wait_for(
        lambda: finished(env.db_url, messages), 900, f"{messages} per-message runs", cluster
    )
    seconds = done_at - first_post
    return {
        **rate,
        "failures": rate["failures"] + sent["failures"],
        "seconds": seconds,
        "throughput": messages / seconds,
    }


def per_message_job_listens(db_url: str) -> bool:
    import psycopg

    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM asset_active WHERE uri LIKE 'openfn://bench/triggers/%'"
        ).fetchone()
    return bool(row and row[0] >= 2)


def finished(db_url: str, expected: int) -> float | None:
    """When every e2e message has a successful run: the last run's finish time (epoch s)."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*), extract(epoch FROM max(r.finished_at)) FROM openfn_run AS r "
            "JOIN openfn_message AS m ON m.id = r.message_id "
            "WHERE m.body ->> 'phase' = 'e2e' AND r.job = 'per-message' AND r.status = 'success'"
        ).fetchone()
    if row is None or row[0] < expected:
        return None
    return float(row[1])


if __name__ == "__main__":
    sys.exit(main())
