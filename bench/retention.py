"""Benchmark inbox-to-run latency on an empty database against one holding 1,000,000 past runs.

Run from the repository root (the full size takes long: loading, then the maintenance DAG)::

    .venv/bin/python bench/retention.py                 # 1,000,000 past runs
    .venv/bin/python bench/retention.py --runs 20000    # a quick check that it works

A fresh ``openfn_bench_retention`` database (``airflow db migrate``), a temporary AIRFLOW_HOME and
DAGs folder with our three DAG files (jobs, spec check, maintenance) and ``bench/project`` given
``retention: {messages: 30d, runs: 30d}``; the real api-server, scheduler and dag-processor
(``tests/cluster.py``).

Latency: one message at a time is POSTed to the project's inbox (matching the per-message job),
and the next one only after its DAG run has finished, so each measures an idle system. From the
message's commit (``openfn_message.received_at``) to its DAG run created (``dag_run.queued_at``),
to the DAG run started (``dag_run.start_date``), and to the job started (the ledger's
``started_at``); database clocks, no polling error.

Phases:
1. ``empty``: the freshly migrated database (after the maintenance DAG's own first run).
2. ``loaded``: ``--runs`` past runs of the per-message job bulk-loaded with SQL, spread evenly
   over the last ``--days`` days: each a copy of a real run of phase 1 (``dag_run``,
   ``task_instance``, its XCom and ``log`` rows, ``asset_event``, ``dagrun_asset_event``, a
   consumed ``asset_partition_dag_run`` and its ``partitioned_asset_key_log`` row, and the OpenFn
   message, delivery and ledger run), then ANALYZE. Left out with ``--skip-loaded``.
3. ``cleaned``: after one manual run of ``openfn__maintenance`` (its deletions are printed).

The ratio ``cleaned / empty`` of the median time to the DAG run started is the figure (target:
at most 1.20). PostgreSQL: ``OPENFN_BENCH_PG`` (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass

import environment
import httpx

PER_MESSAGE_DAG = "openfn__bench__per-message"
MAINTENANCE_DAG = "openfn__maintenance"
TRIGGER_URI = "openfn://bench/triggers/perm"
RETENTION = "retention: {messages: 30d, runs: 30d}\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="past runs to load")
    parser.add_argument("--days", type=float, default=60, help="the past runs span these days")
    parser.add_argument("--messages", type=int, default=30, help="messages measured per phase")
    parser.add_argument("--chunk", type=int, default=100_000, help="past runs per transaction")
    parser.add_argument(
        "--skip-loaded", action="store_true", help="do not measure before the cleanup"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary AIRFLOW_HOME")
    return parser.parse_args()


def build_dags_folder(env: environment.Environment) -> None:
    """Our DAG files, maintenance included, and bench/project with a 30-day retention."""
    env.dags_folder.mkdir(parents=True)
    for name in (
        "openfn_jobs.py",
        "openfn_spec_check.py",
        "openfn_maintenance.py",
        ".airflowignore",
    ):
        shutil.copy2(environment.REPO / "dags" / name, env.dags_folder / name)
    project = env.dags_folder / "bench"
    shutil.copytree(
        environment.BENCH / "project",
        project,
        ignore=lambda _folder, names: [n for n in names if n == "__pycache__"],
    )
    spec = project / "project.yaml"
    spec.write_text(spec.read_text().replace("triggers:\n", RETENTION + "triggers:\n", 1))


# --- measuring ---------------------------------------------------------------------------------

LATENCY = """
    SELECT extract(epoch FROM d.queued_at - m.received_at) AS created,
           extract(epoch FROM d.start_date - m.received_at) AS started,
           extract(epoch FROM r.started_at - m.received_at) AS job,
           d.state
    FROM openfn_message AS m
    JOIN asset_event AS e
      ON e.id > %(floor)s AND (e.extra::jsonb -> 'message_ids') @> to_jsonb(m.id)
    JOIN dagrun_asset_event AS l ON l.event_id = e.id
    JOIN dag_run AS d ON d.id = l.dag_run_id
    LEFT JOIN openfn_run AS r ON r.message_id = m.id
    WHERE m.id = %(message_id)s
"""


@dataclass
class Phase:
    name: str
    created: list[float]
    started: list[float]
    job: list[float]
    sizes: dict[str, int]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def measure(db_url: str, inbox: str, name: str, count: int, timeout: float = 180) -> Phase:
    import psycopg
    from psycopg.rows import dict_row

    created: list[float] = []
    started: list[float] = []
    job: list[float] = []
    with (
        psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn,
        httpx.Client(timeout=60) as http,
    ):
        sizes = table_sizes(conn)
        for n in range(count):
            floor = conn.execute("SELECT coalesce(max(id), 0) AS id FROM asset_event").fetchone()
            answer = http.post(inbox, json={"bench": "per-message", "phase": name, "n": n})
            answer.raise_for_status()
            params = {"floor": floor["id"], "message_id": answer.json()["message_id"]}
            deadline = time.monotonic() + timeout
            while True:
                row = conn.execute(LATENCY, params).fetchone()
                if row and row["state"] in ("success", "failed") and row["job"] is not None:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name}: message {params['message_id']} did not run")
                time.sleep(0.05)
            created.append(float(row["created"]))
            started.append(float(row["started"]))
            job.append(float(row["job"]))
    phase = Phase(name, created, started, job, sizes)
    print(
        f"  {name}: DAG run created p50 {percentile(created, 0.5):.3f} s, "
        f"started p50 {percentile(started, 0.5):.3f} s, job p50 {percentile(job, 0.5):.3f} s",
        flush=True,
    )
    return phase


SIZED = (
    "dag_run",
    "task_instance",
    "asset_event",
    "asset_partition_dag_run",
    "partitioned_asset_key_log",
    "openfn_run",
)


def table_sizes(conn) -> dict[str, int]:
    return {
        table: conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"] for table in SIZED
    }


# --- loading past runs -------------------------------------------------------------------------


@dataclass
class Template:
    """The rows one real per-message run left, which the past runs copy."""

    message_id: int
    ledger_id: int
    dag_run_pk: int
    run_id: str
    event_ids: list[int]
    partition_run_ids: list[int]


def find_template(conn) -> Template:
    ledger = conn.execute(
        "SELECT id, message_id, dag_run_id FROM openfn_run "
        "WHERE dag_id = %s AND message_id IS NOT NULL AND status = 'success' "
        "ORDER BY id DESC LIMIT 1",
        [PER_MESSAGE_DAG],
    ).fetchone()
    run = conn.execute(
        "SELECT id FROM dag_run WHERE dag_id = %s AND run_id = %s",
        [PER_MESSAGE_DAG, ledger["dag_run_id"]],
    ).fetchone()
    events = conn.execute(
        "SELECT event_id FROM dagrun_asset_event WHERE dag_run_id = %s", [run["id"]]
    ).fetchall()
    partition_runs = conn.execute(
        "SELECT id FROM asset_partition_dag_run WHERE created_dag_run_id = %s", [run["id"]]
    ).fetchall()
    return Template(
        message_id=ledger["message_id"],
        ledger_id=ledger["id"],
        dag_run_pk=run["id"],
        run_id=ledger["dag_run_id"],
        event_ids=[row["event_id"] for row in events][:1],
        partition_run_ids=[row["id"] for row in partition_runs][:1],
    )


def columns(conn, table: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s AND is_generated = 'NEVER' "
        "ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [(row["column_name"], row["data_type"]) for row in rows]


def clone(
    conn,
    table: str,
    where: str,
    overrides: dict[str, str],
    chunk: tuple[int, int],
    *,
    omit: tuple[str, ...] = (),
    identity: bool = False,
) -> int:
    """Copy the template rows of ``table`` (``where``, on alias t) once per past run (alias p):
    ``overrides`` are SQL expressions per column; other timestamps become the run's time."""
    names, values = [], []
    for name, data_type in columns(conn, table):
        if name in omit:
            continue
        names.append(f'"{name}"')
        if name in overrides:
            values.append(overrides[name])
        elif data_type == "timestamp with time zone":
            values.append(f'CASE WHEN t."{name}" IS NULL THEN NULL ELSE p.at END')
        else:
            values.append(f't."{name}"')
    system = " OVERRIDING SYSTEM VALUE" if identity else ""
    statement = (
        f"INSERT INTO {table} ({', '.join(names)}){system} "
        f"SELECT {', '.join(values)} FROM {table} AS t CROSS JOIN past AS p "
        f"WHERE ({where}) AND p.g BETWEEN %(lo)s AND %(hi)s"
    )
    return conn.execute(statement, {"lo": chunk[0], "hi": chunk[1]}).rowcount


def load_past_runs(db_url: str, runs: int, days: float, chunk_size: int) -> float:
    """Bulk-load ``runs`` copies of a real per-message run, spread over the last ``days`` days."""
    import psycopg
    from psycopg.rows import dict_row

    started = time.monotonic()
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        tpl = find_template(conn)
        conn.execute(
            """
            CREATE TEMP TABLE past AS
            SELECT g,
                   nextval(pg_get_serial_sequence('dag_run', 'id')) AS run_pk,
                   'past__' || g AS run_id,
                   'past-' || g AS key,
                   nextval(pg_get_serial_sequence('asset_event', 'id')) AS event_id,
                   nextval(pg_get_serial_sequence('asset_partition_dag_run', 'id')) AS apdr_id,
                   nextval(pg_get_serial_sequence('openfn_message', 'id')) AS message_id,
                   nextval(pg_get_serial_sequence('openfn_run', 'id')) AS ledger_id,
                   now() - make_interval(secs => %(span)s * g / %(runs)s) AS at
            FROM generate_series(1, %(runs)s) AS g
            """,
            {"runs": runs, "span": days * 86400.0},
        )
        conn.execute("CREATE UNIQUE INDEX ON past (g)")
        conn.commit()
        run = f"t.id = {tpl.dag_run_pk}"
        of_run = f"t.dag_id = '{PER_MESSAGE_DAG}' AND t.run_id = '{tpl.run_id}'"
        for lo in range(1, runs + 1, chunk_size):
            chunk = (lo, min(runs, lo + chunk_size - 1))
            clone(
                conn,
                "dag_run",
                run,
                {"id": "p.run_pk", "run_id": "p.run_id", "partition_key": "p.key"},
                chunk,
            )
            clone(
                conn,
                "task_instance",
                of_run,
                {"id": "gen_random_uuid()", "run_id": "p.run_id"},
                chunk,
            )
            clone(
                conn,
                "xcom",
                f"t.dag_run_id = {tpl.dag_run_pk}",
                {"dag_run_id": "p.run_pk", "run_id": "p.run_id"},
                chunk,
            )
            clone(conn, "log", of_run, {"run_id": "p.run_id"}, chunk, omit=("id",))
            for event_id in tpl.event_ids:
                clone(
                    conn,
                    "asset_event",
                    f"t.id = {event_id}",
                    {
                        "id": "p.event_id",
                        "partition_key": "p.key",
                        "extra": "json_build_object('message_ids', json_build_array(p.message_id))",
                    },
                    chunk,
                )
                conn.execute(
                    "INSERT INTO dagrun_asset_event (dag_run_id, event_id) "
                    "SELECT run_pk, event_id FROM past WHERE g BETWEEN %s AND %s",
                    list(chunk),
                )
            for apdr_id in tpl.partition_run_ids:
                clone(
                    conn,
                    "asset_partition_dag_run",
                    f"t.id = {apdr_id}",
                    {"id": "p.apdr_id", "created_dag_run_id": "p.run_pk", "partition_key": "p.key"},
                    chunk,
                )
                clone(
                    conn,
                    "partitioned_asset_key_log",
                    f"t.asset_partition_dag_run_id = {apdr_id}",
                    {
                        "asset_partition_dag_run_id": "p.apdr_id",
                        "asset_event_id": "p.event_id",
                        "source_partition_key": "p.key",
                        "target_partition_key": "p.key",
                    },
                    chunk,
                    omit=("id",),
                )
            clone(
                conn,
                "openfn_message",
                f"t.id = {tpl.message_id}",
                {"id": "p.message_id"},
                chunk,
                identity=True,
            )
            clone(
                conn,
                "openfn_dispatch",
                f"t.message_id = {tpl.message_id}",
                {"message_id": "p.message_id"},
                chunk,
                omit=("id",),
            )
            clone(
                conn,
                "openfn_run",
                f"t.id = {tpl.ledger_id}",
                {"id": "p.ledger_id", "message_id": "p.message_id", "dag_run_id": "p.run_id"},
                chunk,
                identity=True,
            )
            conn.commit()
            print(f"  loaded past runs {chunk[0]:,}-{chunk[1]:,}", flush=True)
        conn.execute("DROP TABLE past")
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    return time.monotonic() - started


# --- the maintenance DAG -----------------------------------------------------------------------


def wait_for_maintenance(cluster, db_url: str, timeout: float) -> None:
    """Wait until no run of the maintenance DAG is queued or running."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(db_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE state IN ('queued', 'running')), count(*) "
                "FROM dag_run WHERE dag_id = %s",
                [MAINTENANCE_DAG],
            ).fetchone()
            if row and row[1] > 0 and row[0] == 0:
                return
            cluster.check_alive()
            time.sleep(1)
    raise TimeoutError(f"{MAINTENANCE_DAG} did not finish within {timeout}s")


def run_maintenance(cluster, db_url: str, timeout: float = 6 * 3600) -> tuple[float, dict]:
    """One manual run of the maintenance DAG; return its duration and each task's counts."""
    import psycopg

    answer = cluster.api("POST", f"/dags/{MAINTENANCE_DAG}/dagRuns", json={"logical_date": None})
    answer.raise_for_status()
    run_id = answer.json()["dag_run_id"]
    started = time.monotonic()
    deadline = started + timeout
    with psycopg.connect(db_url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT state, extract(epoch FROM end_date - start_date) FROM dag_run "
                "WHERE dag_id = %s AND run_id = %s",
                [MAINTENANCE_DAG, run_id],
            ).fetchone()
            if row and row[0] in ("success", "failed"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{MAINTENANCE_DAG} run {run_id} still {row}")
            cluster.check_alive()
            time.sleep(2)
        if row[0] != "success":
            raise RuntimeError(f"{MAINTENANCE_DAG} run {run_id} {row[0]}: see {cluster.home}/logs")
        counts = dict(
            conn.execute(
                "SELECT task_id, value FROM xcom WHERE dag_id = %s AND run_id = %s "
                "AND key = 'return_value' ORDER BY task_id",
                [MAINTENANCE_DAG, run_id],
            ).fetchall()
        )
    return float(row[1]), counts


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    env = environment.configure()
    sys.path.insert(0, str(environment.REPO / "tests"))
    from cluster import Cluster, count_dags, wait_for
    from inbox import machine, wait_for_asset

    environment.recreate_database()
    environment.migrate(env)
    build_dags_folder(env)
    cluster = Cluster(env.home, env.sqlalchemy_url, env.dags_folder)
    try:
        cluster.start()
        wait_for(
            lambda: (
                count_dags(env.db_url, PER_MESSAGE_DAG) and count_dags(env.db_url, MAINTENANCE_DAG)
            ),
            180,
            "the DAGs to be parsed",
            cluster,
        )
        return run(cluster, env, args, machine, wait_for_asset)
    finally:
        cluster.stop()
        if not args.keep:
            environment.remove(env)
        else:
            print(f"AIRFLOW_HOME kept: {env.home}")


def run(cluster, env: environment.Environment, args, machine, wait_for_asset) -> int:
    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store.database import connect
    from openfn_airflow.store.projects import get_project

    with connect(env.db_url) as conn:
        sync_projects(conn, env.dags_folder)
        conn.commit()
        project = get_project(conn, "bench")
    assert project is not None
    inbox = f"{cluster.url}/openfn/inbox/{project['inbox_id']}"
    wait_for_asset(cluster, TRIGGER_URI)
    # The maintenance DAG runs once as soon as it is parsed (catchup off): not during a phase.
    wait_for_maintenance(cluster, env.db_url, 600)

    print(f"# bench/retention.py, {machine()}")
    print(f"{args.runs:,} past runs over {args.days:g} days, {args.messages} messages per phase")
    measure(env.db_url, inbox, "warm-up", 3)
    phases = [measure(env.db_url, inbox, "empty", args.messages)]
    load_seconds = load_past_runs(env.db_url, args.runs, args.days, args.chunk)
    print(f"  loaded {args.runs:,} past runs in {load_seconds:.0f} s")
    if not args.skip_loaded:
        phases.append(measure(env.db_url, inbox, "loaded", args.messages))
    duration, counts = run_maintenance(cluster, env.db_url)
    print(f"  maintenance DAG run: {duration:.0f} s")
    for task, value in counts.items():
        print(f"    {task}: {value}")
    phases.append(measure(env.db_url, inbox, "cleaned", args.messages))
    report(phases)
    return 0


def report(phases: list[Phase]) -> None:
    empty = phases[0]
    base = percentile(empty.started, 0.5)
    print()
    print(
        f"{'phase':>8} | {'dag_run':>9} {'apdr':>9} {'events':>9} | {'created p50':>11} "
        f"{'started p50':>11} {'started p90':>11} {'job p50':>8} | {'x empty':>7}"
    )
    for phase in phases:
        started = percentile(phase.started, 0.5)
        print(
            f"{phase.name:>8} | {phase.sizes['dag_run']:>9,} "
            f"{phase.sizes['asset_partition_dag_run']:>9,} {phase.sizes['asset_event']:>9,} | "
            f"{percentile(phase.created, 0.5):>10.3f}s {started:>10.3f}s "
            f"{percentile(phase.started, 0.9):>10.3f}s {percentile(phase.job, 0.5):>7.3f}s | "
            f"{started / base:>7.2f}"
        )
    cleaned = percentile(phases[-1].started, 0.5)
    ratio = cleaned / base
    verdict = "met" if ratio <= 1.20 else "NOT met"
    print(
        f"\ninbox -> DAG run started, p50: cleaned {cleaned:.3f} s / empty {base:.3f} s = "
        f"{ratio:.2f} (target <= 1.20: {verdict})"
    )


if __name__ == "__main__":
    sys.exit(main())
