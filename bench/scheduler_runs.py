"""(b) End-to-end runs per second through the real scheduler (LocalExecutor), 200 asset events.

Phases, one after the other in one cluster, each starting from an idle system: the plain
partitioned DAG (baseline), per-message, batched (200 events x 50 messages), batched
(200 events x 1 message), the plain DAG again (to bracket the noise). The clock starts when
the transaction registering the events commits and stops at the last finish time the database
records (DAG run ``end_date`` for the plain DAG, ledger ``finished_at`` for ours).

Events are registered with ``schedule_messages`` in one transaction, as the inbox dispatcher
does: per-message jobs get one event per message (fresh UUID partition key); batched jobs get
one pending ledger run per message plus one wake-up event per call, and their DAG runs claim
the pending runs. Airflow's asset-triggered run consumes only the events registered up to its
queue row's creation (the first event of the transaction); the bench reports how many events
were consumed, so the folding is visible.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from environment import REPO, Environment
from phase_stats import Breakdown, breakdown, ledger_pace
from process_tree import ProcessTree
from psycopg.rows import dict_row

from openfn_airflow.store import messages

EVENTS = 200
MESSAGES_PER_BATCH = 50
PHASE_TIMEOUT = 600  # seconds a phase may take before the bench gives up
PARSE_TIMEOUT = 300
SETTLE_SECONDS = 5  # quiet time after the last DAG run before the next phase
IDLE_SAMPLE_SECONDS = 10

PLAIN_DAG = "plain_partitioned"
PER_MESSAGE_DAG = "openfn__bench__per-message"
BATCHED_DAG = "openfn__bench__batched"
PLAIN_URI = "bench://plain"
PER_MESSAGE_URI = "openfn://bench/triggers/perm"
BATCHED_URI = "openfn://bench/triggers/batch"

PLAIN_DONE = """
SELECT count(*) FILTER (WHERE state = 'success') AS done,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       max(end_date) AS last,
       array_agg(run_id) AS run_ids
FROM dag_run
WHERE dag_id = %(dag_id)s AND partition_key = ANY(%(keys)s)
"""

LEDGER_DONE = """
SELECT count(*) FILTER (WHERE finished_at IS NOT NULL) AS done,
       count(*) FILTER (WHERE finished_at IS NOT NULL AND status <> 'success') AS failed,
       max(finished_at) AS last,
       array_agg(DISTINCT dag_run_id) AS run_ids
FROM openfn_run
WHERE message_id = ANY(%(ids)s)
"""

DAG_RUNS_DONE = """
SELECT count(*) FILTER (WHERE state = 'success') AS done, max(end_date) AS last
FROM dag_run
WHERE dag_id = %(dag_id)s AND run_id = ANY(%(run_ids)s)
"""

BUSY = "SELECT count(*) AS n FROM dag_run WHERE state IN ('queued', 'running')"

LAST_EVENT = "SELECT coalesce(max(id), 0) AS id FROM asset_event"

CONSUMED = """
SELECT count(*) AS events,
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM dagrun_asset_event AS d WHERE d.event_id = e.id)) AS consumed
FROM asset_event AS e JOIN asset AS a ON a.id = e.asset_id
WHERE a.uri = %(uri)s AND e.id > %(after)s
"""


@dataclass
class Phase:
    """One measured phase: ``runs`` finished in ``seconds`` after the commit."""

    name: str
    meaning: str
    runs: int
    seconds: float
    failed: int
    register_seconds: float
    cpu_seconds: float  # Airflow processes (all of them), commit -> idle again
    idle_cores: float  # what the same processes burn when nothing runs
    wall_to_idle: float  # commit -> idle again (the CPU window)
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the commit and when idle
    dag_run_seconds: float | None = None  # ours: commit -> last DAG run success
    stats: Breakdown | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.runs / self.seconds

    @property
    def cpu_per_run(self) -> float:
        """CPU seconds per run, less the idle burn over the same window."""
        return (self.cpu_seconds - self.idle_cores * self.wall_to_idle) / self.runs


class Bench:
    """The running cluster, a psycopg connection to its database, and the process sampler."""

    def __init__(self, env: Environment, cluster: Any, tree: ProcessTree) -> None:
        self.env = env
        self.cluster = cluster
        self.tree = tree
        self.conn = psycopg.connect(env.db_url, row_factory=dict_row, autocommit=False)
        self.idle_cores = 0.0

    def one(self, query: str, **params: Any) -> dict[str, Any]:
        self.conn.rollback()  # a fresh snapshot every poll
        row = self.conn.execute(query, params).fetchone()
        assert row is not None
        return row

    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            self.cluster.check_alive()
            time.sleep(0.25)
        raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")

    def wait_idle(self) -> float:
        """Wait until no DAG run is queued or running, then settle; return the time it got idle."""
        self.wait_until(lambda: self.one(BUSY)["n"] == 0, PHASE_TIMEOUT, "an idle scheduler")
        idle_at = time.time()
        time.sleep(SETTLE_SECONDS)
        return idle_at

    def measure_idle_cores(self) -> None:
        before, started = self.tree.cpu_seconds(), time.monotonic()
        time.sleep(IDLE_SAMPLE_SECONDS)
        self.idle_cores = (self.tree.cpu_seconds() - before) / (time.monotonic() - started)


def start_cluster(env: Environment) -> Any:
    sys.path.insert(0, str(REPO / "tests"))
    from cluster import Cluster

    return Cluster(env.home, env.sqlalchemy_url, env.dags_folder).start()


def normalized(uri: str) -> str:
    from airflow.sdk import Asset

    return Asset(uri).uri


def wait_parsed(bench: Bench) -> None:
    """Wait until the three DAGs are parsed and unpaused and their assets are active."""
    dag_ids = [PLAIN_DAG, PER_MESSAGE_DAG, BATCHED_DAG]
    uris = [normalized(u) for u in (PLAIN_URI, PER_MESSAGE_URI, BATCHED_URI)]

    def ready() -> bool:
        dags = bench.one(
            "SELECT count(*) AS n FROM dag WHERE dag_id = ANY(%(ids)s)"
            " AND NOT is_stale AND NOT is_paused",
            ids=dag_ids,
        )["n"]
        assets = bench.one(
            "SELECT count(*) AS n FROM asset_active WHERE uri = ANY(%(uris)s)", uris=uris
        )
        return dags == len(dag_ids) and assets["n"] == len(uris)

    bench.wait_until(ready, PARSE_TIMEOUT, "the bench DAGs to be parsed and their assets active")


# --- registering events ------------------------------------------------------------------


def register_plain(count: int) -> tuple[list[str], float]:
    """Register ``count`` events with fresh partition keys on the plain DAG's asset."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    keys = [str(uuid.uuid4()) for _ in range(count)]
    started = time.monotonic()
    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == normalized(PLAIN_URI)))
        for n, key in enumerate(keys):
            asset_manager.register_asset_change(
                asset=asset, partition_key=key, extra={"bench": "plain", "n": n}, session=session
            )
    return keys, time.monotonic() - started


def insert_messages(bench: Bench, count: int, kind: str) -> list[int]:
    with psycopg.connect(bench.env.db_url) as conn:
        ids = [
            messages.insert_message(conn, project="bench", body={"bench": kind, "n": n})
            for n in range(count)
        ]
        conn.commit()
    return ids


def schedule(uri: str, batches: list[list[int]]) -> float:
    """Schedule the batches as the inbox dispatcher does, all in one transaction."""
    from airflow.utils.session import create_session

    from openfn_airflow.dags.assets import schedule_messages

    started = time.monotonic()
    with create_session() as session:
        for batch in batches:
            schedule_messages(session, "bench", uri, batch)
    return time.monotonic() - started


def consumed_note(bench: Bench, uri: str, after_event: int) -> str:
    row = bench.one(CONSUMED, uri=normalized(uri), after=after_event)
    note = f"Airflow DAG runs consumed {row['consumed']} of the {row['events']} events registered"
    if row["consumed"] < row["events"]:
        note += " (the rest stay unconsumed: the DAG run claimed every pending ledger run anyway)"
    return note


# --- phases -------------------------------------------------------------------------------


def _finish(
    bench: Bench,
    name: str,
    meaning: str,
    committed: float,
    cpu_at_commit: float,
    register_seconds: float,
    done_query: str,
    want: int,
    **params: Any,
) -> tuple[Phase, list[str]]:
    def finished() -> dict[str, Any] | None:
        row = bench.one(done_query, **params)
        if done_query is PLAIN_DONE and row["failed"]:
            raise RuntimeError(f"{name}: {row['failed']} plain DAG run(s) failed")
        return row if row["done"] >= want else None

    load_at_commit = os.getloadavg()[0]
    row = bench.wait_until(finished, PHASE_TIMEOUT, f"{want} finished runs ({name})")
    load_at_end = os.getloadavg()[0]
    idle_at = bench.wait_idle()
    phase = Phase(
        name=name,
        meaning=meaning,
        runs=row["done"],
        seconds=row["last"].timestamp() - committed,
        failed=row.get("failed") or 0,
        register_seconds=register_seconds,
        cpu_seconds=bench.tree.cpu_seconds() - cpu_at_commit,
        idle_cores=bench.idle_cores,
        wall_to_idle=idle_at - committed,
        load=(load_at_commit, load_at_end),
    )
    return phase, [r for r in row["run_ids"] if r]


def plain_phase(bench: Bench, name: str, count: int = EVENTS) -> Phase:
    cpu = bench.tree.cpu_seconds()
    keys, register_seconds = register_plain(count)
    committed = time.time()
    phase, run_ids = _finish(
        bench,
        name,
        f"plain partitioned DAG: {count} events -> {count} DAG runs in state success",
        committed,
        cpu,
        register_seconds,
        PLAIN_DONE,
        count,
        dag_id=PLAIN_DAG,
        keys=keys,
    )
    phase.stats = breakdown(bench.conn, bench.env.home / "logs", PLAIN_DAG, run_ids)
    return phase


def ledger_phase(
    bench: Bench,
    name: str,
    meaning: str,
    *,
    dag_id: str,
    uri: str,
    kind: str,
    batches: int,
    size: int,
) -> Phase:
    """Insert ``batches * size`` messages, schedule them in ``batches`` calls, wait for the ledger."""
    ids = insert_messages(bench, batches * size, kind)
    after_event = bench.one(LAST_EVENT)["id"]
    cpu = bench.tree.cpu_seconds()
    register_seconds = schedule(uri, [ids[i : i + size] for i in range(0, len(ids), size)])
    committed = time.time()
    phase, run_ids = _finish(
        bench, name, meaning, committed, cpu, register_seconds, LEDGER_DONE, len(ids), ids=ids
    )
    dag_runs = bench.one(DAG_RUNS_DONE, dag_id=dag_id, run_ids=run_ids)
    if dag_runs["last"] is not None:
        phase.dag_run_seconds = dag_runs["last"].timestamp() - committed
    phase.stats = breakdown(bench.conn, bench.env.home / "logs", dag_id, run_ids)
    phase.notes.append(ledger_pace(bench.conn, ids))
    phase.notes.append(consumed_note(bench, uri, after_event))
    return phase


def per_message_phase(bench: Bench, events: int = EVENTS) -> Phase:
    return ledger_phase(
        bench,
        "per-message",
        f"runs: per-message: {events} messages -> {events} events -> {events} ledger runs finished",
        dag_id=PER_MESSAGE_DAG,
        uri=PER_MESSAGE_URI,
        kind="per-message",
        batches=1,
        size=events,
    )


def batched_phase(bench: Bench, per_event: int, events: int = EVENTS) -> Phase:
    count = events * per_event
    return ledger_phase(
        bench,
        f"batched {events}x{per_event}",
        f"runs: batched: {events} events x {per_event} message(s) -> {count} ledger runs finished",
        dag_id=BATCHED_DAG,
        uri=BATCHED_URI,
        kind="batched",
        batches=events,
        size=per_event,
    )


def warm_up(bench: Bench) -> None:
    """One run of each DAG, so no phase pays for the first task process of a DAG."""
    plain_phase(bench, "warm-up plain", count=1)
    per_message_phase(bench, events=1)
    batched_phase(bench, per_event=1, events=1)


def run(env: Environment, log: Callable[[str], None] = print) -> tuple[list[Phase], int]:
    """Start the cluster, run every phase, stop it; return the phases and the peak RSS (bytes)."""
    log("(b) starting api-server, scheduler, dag-processor (LocalExecutor, parallelism=8) ...")
    cluster = start_cluster(env)
    tree = ProcessTree([p.pid for p in cluster.processes.values()]).start()
    bench = None
    try:
        bench = Bench(env, cluster, tree)
        wait_parsed(bench)
        log("    DAGs parsed; warming up (one run of each DAG) ...")
        warm_up(bench)
        bench.wait_idle()
        bench.measure_idle_cores()
        log(f"    idle Airflow processes burn {bench.idle_cores:.2f} cores")
        phases = []
        for step in (
            lambda: plain_phase(bench, "plain"),
            lambda: per_message_phase(bench),
            lambda: batched_phase(bench, MESSAGES_PER_BATCH),
            lambda: batched_phase(bench, 1),
            lambda: plain_phase(bench, "plain (again)"),
        ):
            phase = step()
            log(f"    {phase.name}: {phase.runs} runs in {phase.seconds:.1f} s")
            phases.append(phase)
        return phases, tree.peak_rss
    finally:
        tree.stop()
        if bench is not None:
            bench.conn.close()
        cluster.stop()
