"""Benchmark right-credential inbox requests while wrong basic-auth passwords flood the inbox.

Run from the repository root::

    .venv/bin/python bench/inbox_auth_flood.py [--requests 300] [--flood-rate 100]

A fresh ``openfn_bench_inbox_auth_flood`` database, a temporary AIRFLOW_HOME and DAGs folder with
``bench/project`` (whose triggers the bodies here do not match: no dispatch work), and the real
api-server alone (no scheduler or dag-processor, so that nothing else competes for the 2 cores).
The project has an API key and a basic-auth user. Each right request is measured alone first
(the baseline: ``--requests`` sequential requests, alternately the API key and the right basic
password, which is verified once and then found in the cache), then again while other threads
send ``--flood-rate`` requests per second with the right user name and a new wrong password each
(every one an scrypt if nothing stopped it). Two api-servers are measured in turn:

- ``[openfn] inbox_auth_failures_per_minute`` at its default (20): the flood comes from one
  address, so after 20 failures it is answered 429 without any scrypt;
- the limit off (0), standing for guesses from many addresses, each under its limit: every wrong
  password reaches the scrypt pool (one thread per process); past 32 waiting it is answered 429.

Printed: p50 and p99 of the right requests alone and under the flood, their ratio, the flood's
achieved rate and its answers by status. Target: the p99 under the flood stays within a few
times the baseline, and no right request fails.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
import sys
import threading
import time
from collections import Counter

import environment
import httpx

BODY = {"bench": "auth-flood", "pad": "x" * 800}  # matches none of bench/project's triggers
# Enough that the flood keeps its rate while requests wait in the scrypt queue (open loop).
FLOOD_THREADS = 128


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def right_requests(inbox: str, key: str, password: str, total: int) -> dict:
    """``total`` sequential right requests (API key and basic alternately): p50, p99, failures."""
    latencies: list[float] = []
    failures: Counter[int] = Counter()
    with httpx.Client(timeout=60) as http:
        for n in range(total):
            headers = {"x-api-key": key} if n % 2 else basic("collect", password)
            started = time.perf_counter()
            status = http.post(inbox, json={**BODY, "n": n}, headers=headers).status_code
            latencies.append(time.perf_counter() - started)
            if status != 202:
                failures[status] += 1
    return {
        "p50": percentile(latencies, 0.50) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "failures": dict(failures),
    }


class Flood:
    """Threads sending wrong basic-auth passwords at a fixed total rate until stopped."""

    def __init__(self, inbox: str, rate: float) -> None:
        self.inbox = inbox
        self.interval = FLOOD_THREADS / rate  # each thread's share of the rate
        self.stop = threading.Event()
        self.answers: Counter[int] = Counter()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._send, args=(n,), daemon=True)
            for n in range(FLOOD_THREADS)
        ]
        self.started = 0.0
        self.wall = 0.0

    def __enter__(self) -> Flood:
        self.started = time.perf_counter()
        for thread in self.threads:
            thread.start()
        time.sleep(2)  # the flood is under way (and past the limit) before anything is measured
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.wall = time.perf_counter() - self.started

    def _send(self, number: int) -> None:
        due = time.perf_counter() + self.interval * number / FLOOD_THREADS
        guess = 0
        with httpx.Client(timeout=60) as http:
            while not self.stop.is_set():
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                due += self.interval
                guess += 1
                try:
                    status = http.post(
                        self.inbox,
                        json=BODY,
                        headers=basic("collect", f"wrong-{number}-{guess}"),
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                with self.lock:
                    self.answers[status] += 1

    def rate(self) -> float:
        return sum(self.answers.values()) / self.wall if self.wall else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="right requests per phase")
    parser.add_argument("--flood-rate", type=float, default=100, help="wrong requests a second")
    args = parser.parse_args()
    env = environment.configure()
    sys.path.insert(0, str(environment.REPO / "tests"))
    environment.recreate_database()
    environment.migrate(env)
    environment.build_dags_folder(env)
    print(f"# bench/inbox_auth_flood.py, {machine()}")
    print(
        f"{args.requests} right requests per phase (API key and cached basic auth alternately), "
        f"flood of {args.flood_rate:.0f} wrong basic-auth passwords a second"
    )
    try:
        for label, limit in (("limit 20/min, one address", "20"), ("limit off", "0")):
            figures = measure(env, limit, args.requests, args.flood_rate)
            alone, flooded, flood = figures
            print(f"## {label}")
            print(
                f"  right alone:        p50 {alone['p50']:6.1f} ms  p99 {alone['p99']:6.1f} ms"
                f"  failures {alone['failures'] or 'none'}"
            )
            print(
                f"  right under flood:  p50 {flooded['p50']:6.1f} ms  p99 {flooded['p99']:6.1f} ms"
                f"  failures {flooded['failures'] or 'none'}"
            )
            print(
                f"  ratio under flood / alone: p50 x{flooded['p50'] / alone['p50']:.2f}, "
                f"p99 x{flooded['p99'] / alone['p99']:.2f}"
            )
            print(
                f"  flood: {flood.rate():.0f} requests/s achieved, answers "
                f"{dict(sorted(flood.answers.items()))}"
            )
    finally:
        environment.remove(env)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    return 0


def measure(
    env: environment.Environment, limit: str, requests: int, flood_rate: float
) -> tuple[dict, dict, Flood]:
    from cluster import Cluster, empty_openfn_tables

    from openfn_airflow.inbox import auth_methods
    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store.database import connect
    from openfn_airflow.store.projects import get_project

    empty_openfn_tables(env.db_url)
    with connect(env.db_url) as conn:
        sync_projects(conn, env.dags_folder)
        _, key = auth_methods.add_api_key(conn, "bench")
        _, password = auth_methods.add_basic(conn, "bench", "collect")
        conn.commit()
        project = get_project(conn, "bench")
    assert project is not None
    cluster = Cluster(
        env.home,
        env.sqlalchemy_url,
        env.dags_folder,
        AIRFLOW__OPENFN__INBOX_AUTH_FAILURES_PER_MINUTE=limit,
    )
    # The api-server alone: the scheduler and dag-processor would only add noise here.
    cluster._spawn("api-server", "api-server", "--port", str(cluster.port))
    try:
        cluster.wait_healthy(180)
        inbox = f"{cluster.url}/openfn/inbox/{project['inbox_id']}"
        right_requests(inbox, key, password, 20)  # warm-up: pools, caches, the password
        alone = right_requests(inbox, key, password, requests)
        with Flood(inbox, flood_rate) as flood:
            flooded = right_requests(inbox, key, password, requests)
        return alone, flooded, flood
    finally:
        cluster.stop()


def machine() -> str:
    return (
        f"{dt.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Airflow {importlib.metadata.version('apache-airflow')}, "
        f"PostgreSQL {environment.server_version()}, load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    sys.exit(main())
