"""Benchmark a burst: a steady arrival rate to a per-message, a batched and an auto job.

Run from the repository root::

    .venv/bin/python bench/burst.py [--rate 50] [--seconds 120] [--body-bytes 1000]

A fresh database, a temporary AIRFLOW_HOME and DAGs folder with ``bench/burst_project``, and the
real api-server, scheduler and dag-processor (``tests/cluster.py``: LocalExecutor) with the task
slots ``make run`` gives this machine (``[core] parallelism``: ``--parallelism`` changes it). Each mode in turn gets its own phase: an open-loop load generator (each
request is due at ``start + n / rate`` whatever the answers before it; one that cannot be sent
within 100 ms of its time counts as "late") sends small JSON bodies matching that mode's trigger.
Then the bench waits for every message's run and its chained run to end (at most ``--drain``
seconds) and prints, per mode: inbox p50 / p95 / p99 and failures; the time from each message's
arrival to its ledger run's end (p50, p95, max) and to its chained run's end; the time to drain
after the load stopped; the Airflow DAG runs made; messages run more than once; the load average.
``--quiet`` adds a phase of 1 message a second to the auto job: one DAG run per message expected.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field

import environment
import httpx

LATE_SECONDS = 0.1
MODES = ("auto", "batched", "per-message")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    late: int = 0
    started: float = 0.0  # wall clock (time.time()) of the first request's due time
    ended: float = 0.0  # wall clock when the last answer came
    load_average: list[float] = field(default_factory=list)


def steady(inbox: str, mode: str, rate: float, seconds: float, pad: str, senders: int = 24) -> Load:
    """Send ``rate * seconds`` requests, request n due at start + n / rate (open loop)."""
    total = int(rate * seconds)
    load = Load()
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.perf_counter() + 0.5
    load.started = time.time() + 0.5
    stop = threading.Event()

    def sender() -> None:
        with httpx.Client(timeout=30) as http:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                due = start + n / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                sent = time.perf_counter()
                try:
                    status = http.post(inbox, json={"burst": mode, "n": n, "pad": pad}).status_code
                except httpx.HTTPError:
                    status = 0
                elapsed = time.perf_counter() - sent
                with lock:
                    load.latencies.append(elapsed)
                    load.failures += not 200 <= status < 300
                    load.late += sent - due > LATE_SECONDS

    def sample_load() -> None:
        while not stop.wait(5):
            load.load_average.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample_load, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.ended = time.time()
    stop.set()
    return load


class EventsPanel(threading.Thread):
    """Polls what Airflow's home page asks for (its asset events panel) every 2 s while a phase
    runs; counts the answers by status (a queued DAG run once made it answer 500)."""

    def __init__(self, cluster) -> None:
        super().__init__(daemon=True)
        self.url = f"{cluster.url}/api/v2/assets/events"
        self.headers = {"Authorization": f"Bearer {cluster.token()}"}
        self.answers: dict[int, int] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self.halt.wait(2):
                try:
                    status = http.get(
                        self.url,
                        params={"limit": 6, "order_by": "-timestamp"},
                        headers=self.headers,
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                self.answers[status] = self.answers.get(status, 0) + 1


def outcome(conn, mode: str, since: float, drain: float, expected: int) -> dict:
    """Wait until every message of the phase has its run and its chained run ended; measure."""
    job, then = mode, f"{mode}-then"
    deadline = time.monotonic() + drain
    query = """
        SELECT m.id, extract(epoch FROM m.received_at) AS arrived,
               extract(epoch FROM r.finished_at) AS ended, r.dag_run_id, r.id AS run_id,
               (SELECT extract(epoch FROM t.finished_at) FROM openfn_run AS t
                WHERE t.project = 'burst' AND t.job = %(then)s AND t.upstream_run_id = r.id
                  AND t.finished_at IS NOT NULL ORDER BY t.id LIMIT 1) AS then_ended
        FROM openfn_message AS m
        JOIN openfn_run AS r ON r.message_id = m.id AND r.project = 'burst' AND r.job = %(job)s
        WHERE m.body ->> 'burst' = %(job)s AND m.received_at >= to_timestamp(%(since)s)
          AND r.finished_at IS NOT NULL AND r.retry_of IS NULL
    """
    while True:
        conn.rollback()
        rows = conn.execute(query, {"job": job, "then": then, "since": since - 1}).fetchall()
        done = {row["id"] for row in rows if row["then_ended"] is not None}
        if len(done) >= expected or time.monotonic() > deadline:
            break
        time.sleep(2)
    ran: dict[int, int] = {}
    for row in rows:
        ran[row["id"]] = ran.get(row["id"], 0) + 1
    dag_runs = conn.execute(
        "SELECT dag_id, count(*) AS n FROM dag_run WHERE dag_id = ANY(%s) "
        "AND start_date >= to_timestamp(%s) GROUP BY dag_id",
        [[f"openfn__burst__{job}", f"openfn__burst__{then}"], since - 1],
    ).fetchall()
    counts = {row["dag_id"].rsplit("__", 1)[1]: row["n"] for row in dag_runs}
    return {
        "finished": len({row["id"] for row in rows}),
        "chained": len(done),
        "twice": sum(1 for n in ran.values() if n > 1),
        "e2e": [float(row["ended"] - row["arrived"]) for row in rows],
        "e2e_then": [
            float(row["then_ended"] - row["arrived"]) for row in rows if row["then_ended"]
        ],
        "last_end": max((float(row["ended"]) for row in rows), default=float("nan")),
        "last_then": max((float(row["then_ended"] or 0) for row in rows), default=float("nan")),
        "dag_runs": counts.get(job, 0),
        "dag_runs_then": counts.get(then, 0),
    }


def report(mode: str, rate: float, load: Load, result: dict, expected: int) -> None:
    ms = [x * 1000 for x in load.latencies]
    e2e, e2e_then = result["e2e"], result["e2e_then"]
    avg = sum(load.load_average) / len(load.load_average) if load.load_average else float("nan")
    print(
        f"{mode:>11} | {expected:5d} msgs at {rate:g}/s | inbox p50 {percentile(ms, 0.5):6.1f} "
        f"p95 {percentile(ms, 0.95):6.1f} p99 {percentile(ms, 0.99):7.1f} ms, "
        f"{load.failures} failed, {load.late} late | run end-to-end p50 {percentile(e2e, 0.5):6.2f} "
        f"p95 {percentile(e2e, 0.95):6.2f} max {max(e2e, default=float('nan')):6.2f} s | chained "
        f"p95 {percentile(e2e_then, 0.95):6.2f} s | drain {result['last_end'] - load.ended:6.1f} s "
        f"(chained {result['last_then'] - load.ended:6.1f} s) | ran {result['finished']}/"
        f"{expected}, chained {result['chained']}, twice {result['twice']} | DAG runs "
        f"{result['dag_runs']} + {result['dag_runs_then']} chained | load avg {avg:.1f} "
        f"(max {max(load.load_average, default=float('nan')):.1f})"
    )
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of each load")
    parser.add_argument("--body-bytes", type=int, default=1000, help="size of each body")
    parser.add_argument("--drain", type=float, default=600.0, help="seconds to wait for the runs")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated modes, in order")
    parser.add_argument("--quiet", action="store_true", help="also 1 message/s to the auto job")
    parser.add_argument(
        "--parallelism", type=int, help="[core] parallelism (default: what make run sets)"
    )
    parser.add_argument(
        "--auto-threshold", type=int, help="[openfn] auto_threshold (default: what make run sets)"
    )
    args = parser.parse_args()
    env = environment.configure()
    sys.path.insert(0, str(environment.REPO / "tests"))
    from cluster import Cluster

    environment.recreate_database()
    environment.migrate(env)
    env.dags_folder.mkdir(parents=True)
    for name in ("openfn_jobs.py", "openfn_spec_check.py", ".airflowignore"):
        (env.dags_folder / name).write_bytes((environment.REPO / "dags" / name).read_bytes())

    shutil.copytree(environment.BENCH / "burst_project", env.dags_folder / "burst")
    from openfn_airflow.standalone.environment import cores, task_slots

    overrides = {
        "AIRFLOW__CORE__PARALLELISM": str(args.parallelism or task_slots(cores())),
        # 0: the default, twice the slots (the tests' clusters set their own).
        "AIRFLOW__OPENFN__AUTO_THRESHOLD": str(args.auto_threshold or 0),
    }
    cluster = Cluster(env.home, env.sqlalchemy_url, env.dags_folder, **overrides)
    try:
        cluster.start()
        return run(cluster, env, args)
    finally:
        cluster.stop()
        environment.remove(env)


def run(cluster, env, args) -> int:
    import psycopg
    from psycopg.rows import dict_row

    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store.database import connect
    from openfn_airflow.store.projects import get_project

    with connect(env.db_url) as conn:
        sync_projects(conn, env.dags_folder)
        conn.commit()
        project = get_project(conn, "burst")
    assert project is not None
    inbox = f"{cluster.url}/openfn/inbox/{project['inbox_id']}"
    pad = "x" * max(0, args.body_bytes - 40)
    with psycopg.connect(env.db_url, row_factory=dict_row) as conn:
        wait_parsed(conn, [f"openfn__burst__{m}" for m in MODES], cluster)
        # One message to each, so every DAG has run once before the clock starts.
        for mode in MODES:
            httpx.post(inbox, json={"burst": mode, "n": -1}).raise_for_status()
        time.sleep(20)
        print(
            f"# bench/burst.py: {args.rate:g} messages/s for {args.seconds:g} s per mode, "
            f"{args.body_bytes} B bodies, {os.cpu_count()} cores, parallelism "
            f"{cluster.env['AIRFLOW__CORE__PARALLELISM']}, auto threshold "
            f"{args.auto_threshold or 'twice the slots'}, load before "
            f"{os.getloadavg()[0]:.1f}"
        )
        for mode in args.modes.split(","):
            panel = EventsPanel(cluster)
            panel.start()
            load = steady(inbox, mode, args.rate, args.seconds, pad)
            expected = int(args.rate * args.seconds)
            result = outcome(conn, mode, load.started, args.drain, expected)
            panel.halt.set()
            report(mode, args.rate, load, result, expected)
            print(f"{'':>11} | Airflow's asset events panel answered {panel.answers}")
        if args.quiet:
            load = steady(inbox, "auto", 1.0, 20, pad, senders=2)
            result = outcome(conn, "auto", load.started, 120, 20)
            report("auto quiet", 1.0, load, result, 20)
    return 0


def wait_parsed(conn, dag_ids: list[str], cluster, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn.rollback()
        found = conn.execute(
            "SELECT count(*) AS n FROM dag WHERE dag_id = ANY(%s) AND NOT is_stale", [dag_ids]
        ).fetchone()
        if found["n"] == len(dag_ids):
            return
        cluster.check_alive()
        time.sleep(2)
    raise TimeoutError(f"the burst project's DAGs were not parsed: {dag_ids}")


if __name__ == "__main__":
    raise SystemExit(main())
