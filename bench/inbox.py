"""Benchmark the inbox against the real api-server: POSTs per second, latency, dispatch lag.

Run from the repository root::

    .venv/bin/python bench/inbox.py [--requests 400]

A fresh ``openfn_bench`` database (``airflow db migrate``), a temporary AIRFLOW_HOME and DAGs
folder with ``bench/project``; the real api-server, scheduler and dag-processor
(``tests/cluster.py``). Each phase sends ~1 KB JSON bodies that match the project's ``batch``
trigger (a batched job, so the scheduler's runs do not starve the api-server), and is measured
against its baseline from the same run, Airflow's own REST API creating an event on the same
asset (``POST /api/v2/assets/events`` with a JWT), with 1 and then 16 concurrent clients:
requests per second, p50 and p99 latency. Dispatch lag is the time from a message's commit to
its asset event (``asset_event.timestamp - openfn_message.received_at``), p50 and p99 per phase.
Targets (2 cores): inbox p50 < 10 ms at 1 client, >= 5x the REST rate at 16 clients, dispatch
lag p50 < 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import sys
import threading
import time
from collections.abc import Callable

import environment
import httpx

BODY_PAD = "x" * 800


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def hammer(send: Callable[[httpx.Client, int], int], clients: int, total: int) -> dict:
    """Send ``total`` requests from ``clients`` threads; return rate and latency figures."""
    latencies: list[float] = []
    failures: list[int] = []
    numbers = iter(range(total))
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(timeout=60) as http:
            while True:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                started = time.perf_counter()
                try:
                    status = send(http, n)
                except httpx.HTTPError as exc:  # a timeout is a failed request, not a dead thread
                    print(f"  request failed after {time.perf_counter() - started:.1f} s: {exc!r}")
                    status = 0
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if not 200 <= status < 300:
                        failures.append(status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "rate": total / wall,
        "p50": percentile(latencies, 0.50) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "failures": len(failures),
    }


def dispatch_lag(db_url: str, phase: str, timeout: float = 120) -> tuple[float, float, int]:
    """Wait for every message of ``phase`` to have its event; return lag p50, p99 (s) and count."""
    import psycopg

    query = """
        SELECT extract(epoch FROM e.timestamp - m.received_at) AS lag
        FROM openfn_message AS m
        JOIN openfn_dispatch AS d ON d.message_id = m.id
        LEFT JOIN LATERAL (
            SELECT ev.timestamp FROM asset_event AS ev
            WHERE ev.extra::jsonb -> 'message_ids' @> to_jsonb(m.id)
            ORDER BY ev.id LIMIT 1
        ) AS e ON true
        WHERE m.body ->> 'phase' = %s
    """
    deadline = time.monotonic() + timeout
    with psycopg.connect(db_url, autocommit=True) as conn:
        while True:
            rows = conn.execute(query, [phase]).fetchall()
            if rows and all(lag is not None for (lag,) in rows):
                lags = [float(lag) for (lag,) in rows]
                return percentile(lags, 0.5), percentile(lags, 0.99), len(lags)
            if time.monotonic() > deadline:
                raise TimeoutError(f"messages of {phase} were not all dispatched")
            time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per phase")
    args = parser.parse_args()
    env = environment.configure()
    sys.path.insert(0, str(environment.REPO / "tests"))
    from cluster import Cluster

    environment.recreate_database()
    environment.migrate(env)
    environment.build_dags_folder(env)
    cluster = Cluster(env.home, env.sqlalchemy_url, env.dags_folder)
    try:
        cluster.start()
        return run(cluster, env, args.requests)
    finally:
        cluster.stop()
        environment.remove(env)


def run(cluster, env: environment.Environment, requests: int) -> int:
    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store.database import connect
    from openfn_airflow.store.projects import get_project

    with connect(env.db_url) as conn:
        sync_projects(conn, env.dags_folder)
        conn.commit()
        project = get_project(conn, "bench")
    assert project is not None
    inbox = f"{cluster.url}/openfn/inbox/{project['inbox_id']}"
    asset_id = wait_for_asset(cluster, "openfn://bench/triggers/batch")
    token = cluster.token()
    rest = f"{cluster.url}/api/v2/assets/events"
    headers = {"Authorization": f"Bearer {token}"}

    def post_inbox(phase: str) -> Callable[[httpx.Client, int], int]:
        def send(http: httpx.Client, n: int) -> int:
            body = {"bench": "batched", "phase": phase, "n": n, "pad": BODY_PAD}
            return http.post(inbox, json=body).status_code

        return send

    def post_rest(http: httpx.Client, n: int) -> int:
        extra = {"bench": "batched", "n": n, "pad": BODY_PAD}
        answer = http.post(rest, json={"asset_id": asset_id, "extra": extra}, headers=headers)
        return answer.status_code

    warm = hammer(post_inbox("warm-up"), 1, 50)
    hammer(post_rest, 1, 20)
    assert warm["failures"] == 0, "the inbox refused the warm-up requests"
    rows = []
    for clients in (1, 16):
        total = requests if clients == 1 else requests * 2
        base = hammer(post_rest, clients, total)
        ours = hammer(post_inbox(f"c{clients}"), clients, total)
        lag = dispatch_lag(env.db_url, f"c{clients}")
        rows.append((clients, base, ours, lag))

    print(f"# bench/inbox.py, {machine()}")
    print(f"{requests} requests at 1 client, {requests * 2} at 16; ~1 KB JSON bodies")
    print(
        f"{'clients':>7} | {'REST req/s':>10} {'p50 ms':>7} {'p99 ms':>7} | "
        f"{'inbox req/s':>11} {'p50 ms':>7} {'p99 ms':>7} | {'x REST':>6} | "
        f"{'lag p50 s':>9} {'lag p99 s':>9}"
    )
    for clients, base, ours, (lag50, lag99, _) in rows:
        print(
            f"{clients:>7} | {base['rate']:10.1f} {base['p50']:7.1f} {base['p99']:7.1f} | "
            f"{ours['rate']:11.1f} {ours['p50']:7.1f} {ours['p99']:7.1f} | "
            f"{ours['rate'] / base['rate']:6.1f} | {lag50:9.3f} {lag99:9.3f}"
        )
        if base["failures"] or ours["failures"]:
            print(f"  failures: REST {base['failures']}, inbox {ours['failures']}")
    return 0


def wait_for_asset(cluster, uri: str, timeout: float = 180) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = cluster.api("GET", "/assets", params={"uri_pattern": uri})
        for asset in answer.json().get("assets", []):
            if asset["uri"] == uri:
                return int(asset["id"])
        time.sleep(1)
    raise TimeoutError(f"asset {uri} was not parsed")


def machine() -> str:
    return (
        f"{dt.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Airflow {importlib.metadata.version('apache-airflow')}, "
        f"PostgreSQL {environment.server_version()}, load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    sys.exit(main())
