"""Run the real Airflow components (api-server, scheduler, dag-processor) for tests and benches.

A ``Cluster`` starts the processes against a given PostgreSQL database and DAGs folder, waits
until the api-server answers and the execution API is warm, and stops the whole process groups.
``wait_for`` polls a condition while checking that the processes still run.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

import httpx
from cryptography.fernet import Fernet

VENV_BIN = Path(sys.executable).parent
T = TypeVar("T")
C = TypeVar("C", bound="Cluster")


def wait_for(
    predicate: Callable[[], T], timeout: float, what: str, cluster: Cluster | None = None
) -> T:
    """Poll ``predicate`` until it returns something truthy (returned); fail after ``timeout``.

    With a cluster, a process that died fails at once with the tail of its log.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if cluster is not None:
            cluster.check_alive()
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


FINISHED = ("success", "failed", "killed", "crashed", "lost")


def schedule(project: str, trigger: str, message_ids: list[int]):
    """What the inbox dispatcher does for messages that matched ``trigger`` of ``project``."""
    from airflow.utils.session import create_session

    from openfn_airflow.dags.assets import schedule_messages

    uri = f"openfn://{project}/triggers/{trigger}"
    with create_session() as session:
        return schedule_messages(session, project, uri, message_ids)


def finished_runs(conn, project: str, job: str) -> list[dict]:
    """The job's ledger runs that ended, oldest first, each with its log and states."""
    from openfn_airflow.store import runs

    conn.rollback()
    rows = runs.list_runs(conn, project=project, job=job, limit=1000)
    return [runs.get_run(conn, row["id"]) for row in reversed(rows) if row["status"] in FINISHED]


def cron_run_then_next(cluster: Cluster, conn, project: str, job: str) -> tuple[dict, dict]:
    """A cron job's first scheduled ledger run, and the run after it: ``(before, next)``.

    The next run is started by hand (Airflow's REST API) once the first tick's run ended: a
    manual run of a cron job starts from the cursor as a tick's run does
    (``tasks/inputs.py``), and waiting for a second tick cost a whole minute more per cluster.
    ``before`` is the run that ended just before it (the first tick's, or a later tick's: a
    cron job runs one at a time), whose final state the next run must start from.
    """

    def ticked() -> dict | None:
        return next((r for r in finished_runs(conn, project, job) if r["trigger"] == "cron"), None)

    first = wait_for(ticked, 200, "a scheduled cron run", cluster)
    assert first["dag_run_id"].startswith("scheduled__"), first
    from openfn_airflow.dags.factory import dag_id_for

    answer = cluster.api(
        "POST", f"/dags/{dag_id_for(project, job)}/dagRuns", json={"logical_date": None}
    )
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["dag_run_id"]

    def ran() -> list[dict] | None:
        rows = finished_runs(conn, project, job)
        return rows if any(r["dag_run_id"] == run_id for r in rows) else None

    rows = wait_for(ran, 120, "the cron job's run started by hand", cluster)
    at = next(n for n, r in enumerate(rows) if r["dag_run_id"] == run_id)
    assert at > 0, rows
    return rows[at - 1], rows[at]


def count_dags(db_url: str, prefix: str) -> int:
    """How many DAGs whose id starts with ``prefix`` Airflow holds and does not call stale."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM dag WHERE starts_with(dag_id, %s) AND NOT is_stale", [prefix]
        ).fetchone()
        return row[0] if row else 0


def fresh_start(db_url: str) -> None:
    """Empty the openfn_* tables and the scheduler's asset queues, before starting a cluster.

    Earlier test modules leave auth methods, messages and runs behind, DAG runs a stopped
    scheduler left queued or running, and events that no scheduler consumed (``dag.test()`` runs,
    dispatcher tests); a scheduler started now would run their DAGs in the middle of the tests
    that start it.
    """
    import psycopg

    empty_openfn_tables(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM asset_partition_dag_run WHERE created_dag_run_id IS NULL")
        conn.execute("DELETE FROM asset_dag_run_queue")
        conn.execute("DELETE FROM dag_run WHERE state IN ('queued', 'running')")


# The tables that reference others, before them (the rest may go in any order).
_DELETE_ORDER = {
    "openfn_dispatch": 0,
    "openfn_attachment": 1,
    "openfn_message_version": 2,
    "openfn_run": 3,
    "openfn_message": 4,
}


def empty_openfn_tables(db_url: str) -> None:
    """Empty the openfn_* tables (ids restart at 1), and forget the retry DAG runs naming them.

    A retry's DAG run is named after the ledger run it retries (``openfn_retry__<id>__...``);
    left behind, it would name the new run that gets the same id, which then counts as
    already retried (a bulk retry of it selected nothing, in whichever test came later).
    """
    import psycopg
    from psycopg import sql

    from openfn_airflow.store.schema import TABLES

    # DELETE, children first, and the sequences set back: a tenth of TRUNCATE's time on these
    # small tables (it runs before most integration tests), and it never waits for the
    # ACCESS EXCLUSIVE lock a TRUNCATE needs.
    children_first = sorted(TABLES, key=lambda name: _DELETE_ORDER.get(name, len(_DELETE_ORDER)))
    with psycopg.connect(db_url, autocommit=True) as conn, conn.transaction():
        for name in children_first:
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(name)))
        conn.execute(
            "SELECT setval(s.seq, 1, false) FROM (SELECT pg_get_serial_sequence("
            "a.attrelid::regclass::text, a.attname) AS seq FROM pg_attribute AS a "
            "WHERE a.attrelid = ANY(%s::regclass[]) AND a.attname = 'id' AND NOT a.attisdropped) "
            "AS s WHERE s.seq IS NOT NULL",
            [list(TABLES)],
        )
        conn.execute("DELETE FROM dag_run WHERE run_id LIKE 'openfn\\_retry\\_\\_%'")
        # Who switched a job last (the Jobs screen) is read from Airflow's log of DAG patches:
        # a switch another test flipped is not this test's.
        conn.execute("DELETE FROM log WHERE event = 'patch_dag' AND dag_id LIKE 'openfn\\_\\_%'")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def airflow_env(
    home: Path, sqlalchemy_url: str, dags_folder: Path, **overrides: str
) -> dict[str, str]:
    """Environment for Airflow processes: PostgreSQL, LocalExecutor, fast parsing."""
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url,
            # Task processes cannot see Airflow's database URL: the ledger needs its own.
            "AIRFLOW__OPENFN__DATABASE_URL": sqlalchemy_url,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            # What the tests were written for (one DAG run per message up to 8 waiting); the
            # default, twice the slots, is bench/burst.py's and tests/unit/test_dag_settings.py's.
            "AIRFLOW__OPENFN__AUTO_THRESHOLD": "8",
            "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG": "200",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "200",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            # One key for every process: each would otherwise make its own, and one could not
            # read a Variable or Connection another encrypted.
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    env.update(overrides)
    return env


# The line each Airflow process logs when its shutdown is done (it then only exits).
_SHUTDOWN_DONE = {
    "scheduler": b"Exited execute loop",
    "api-server": b"Finished server process",
    "dag-processor": b"Exiting gracefully upon receiving signal",
}


def _logged_done(name: str, log: Path, since: int) -> bool:
    """Whether process ``name`` logged, past byte ``since`` of its log, that it shut down."""
    done = next((line for kind, line in _SHUTDOWN_DONE.items() if name.startswith(kind)), None)
    if done is None or not log.exists():
        return False
    with log.open("rb") as handle:
        handle.seek(since)
        return done in handle.read()


class Cluster:
    """The api-server, scheduler and dag-processor as real processes."""

    def __init__(self, home: Path, sqlalchemy_url: str, dags_folder: Path, **overrides: str):
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = airflow_env(
            home,
            sqlalchemy_url,
            dags_folder,
            AIRFLOW__API__PORT=str(self.port),
            AIRFLOW__API__BASE_URL=self.url,
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{self.url}/execution/",
            **overrides,
        )
        self.processes: dict[str, subprocess.Popen] = {}
        (home / "logs").mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, *args: str) -> None:
        out = open(self.home / "logs" / f"{name}.out", "ab")  # noqa: SIM115 (owned by the child)
        self.processes[name] = subprocess.Popen(
            [str(VENV_BIN / "airflow"), *args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self, timeout: float = 120) -> Cluster:
        self._spawn("api-server", "api-server", "--port", str(self.port))
        self._spawn("dag-processor", "dag-processor")
        self._spawn("scheduler", "scheduler")
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()  # a fixture whose start fails never reaches its own stop()
            raise
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if httpx.get(f"{self.url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    # The first /execution/ request builds its routers for seconds: take it now.
                    httpx.get(f"{self.url}/execution/health", timeout=60)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"api-server not healthy after {timeout}s; see {self.home}/logs")

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                tail = (self.home / "logs" / f"{name}.out").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    def stop(self) -> None:
        """Stop schedulers and workers first: their running tasks reach the api-server to finish."""
        first = [name for name in self.processes if name.startswith(("scheduler", "worker"))]
        self._stop(first)
        self._stop([name for name in self.processes if name not in first])

    def _stop(self, names: list[str], grace: float = 8) -> None:
        """SIGTERM the process groups; SIGKILL each once it logged that its shutdown is done,
        or after ``grace`` seconds.

        What an Airflow process does after that line is the interpreter's exit, whose garbage
        collection takes about 5 s here (measured with py-spy: ``gc_collect_main``, nothing
        else): a test that is done with the processes need not wait for it.
        """
        logs = {name: self.home / "logs" / f"{name}.out" for name in names}
        sizes = {name: logs[name].stat().st_size if logs[name].exists() else 0 for name in names}
        running = {name: self.processes[name] for name in names}
        for proc in running.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while running:
            for name, proc in list(running.items()):
                if proc.poll() is not None:
                    del running[name]
                elif time.monotonic() > deadline or _logged_done(name, logs[name], sizes[name]):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    del running[name]
            time.sleep(0.1)

    def token(self, user: str = "admin") -> str:
        """A JWT for the REST API, for a user of ``simple_auth_manager_users``."""
        import json

        passwords = json.loads(
            (self.home / "simple_auth_manager_passwords.json.generated").read_text()
        )
        answer = httpx.post(
            f"{self.url}/auth/token",
            json={"username": user, "password": passwords[user]},
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()["access_token"]

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        """Call Airflow's REST API (``/api/v2`` + path) as the admin."""
        headers = {"Authorization": f"Bearer {self.token()}"}
        return httpx.request(
            method, f"{self.url}/api/v2{path}", headers=headers, timeout=60, **kwargs
        )


# Real Airflow processes several test modules share (tests/integration/conftest.py names them):
# started by the first module that asks, stopped after the last test that uses them, before any
# other test runs. Never left running under other tests: a live api-server's dispatcher claims
# the dispatch rows those tests make (an inbox test under pytest-xdist found 61 of its 75 gone).
_shared: dict[str, Cluster] = {}


def shared(name: str, start: Callable[[], C]) -> C:
    """The running processes named ``name``; ``start()`` them if none run."""
    started = _shared.get(name)
    if started is None:
        started = _shared[name] = start()
    return cast(C, started)


def stop_shared(name: str) -> None:
    """Stop the shared processes named ``name``, if they run."""
    started = _shared.pop(name, None)
    if started is not None:
        started.stop()


def served_projects(cluster: Cluster) -> list[str]:
    """The projects in the cluster's DAGs folder: the ones whose DAG runs its scheduler runs.

    Found and read as the DAG loader finds and reads them (``find_projects``).
    """
    from openfn_airflow.spec.folders import find_projects
    from openfn_airflow.spec.loader import load_project_lenient

    folder = cluster.env["AIRFLOW__CORE__DAGS_FOLDER"]
    return sorted({load_project_lenient(spec).name for spec in find_projects(folder)})


def settle(db_url: str, cluster: Cluster, timeout: float = 240) -> None:
    """Before a module uses a running cluster: nothing earlier tests started still runs, then
    ``fresh_start``.

    DAG runs still queued (a chain of runs an earlier test left, say) are ended as failed rather
    than waited for; so are the running ones of projects this cluster does not serve: a cluster
    stopped mid-run (another module's, on its own project) left them, and no scheduler will
    ever end them (each module waited 240 s for them, in vain). The running ones of its own
    projects are waited for: a DAG run deleted while its task runs leaves the scheduler and the
    task arguing over a row that is gone.
    """
    import psycopg

    projects = served_projects(cluster)

    def idle() -> bool:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE dag_run SET state = 'failed', end_date = now() "
                "WHERE starts_with(dag_id, 'openfn__') AND (state = 'queued' OR "
                "(state = 'running' AND NOT split_part(dag_id, '__', 2) = ANY(%s)))",
                [projects],
            )
            row = conn.execute(
                "SELECT count(*) FROM dag_run WHERE state = 'running' "
                "AND starts_with(dag_id, 'openfn__')"
            ).fetchone()
            return row is not None and row[0] == 0

    wait_for(idle, timeout, "the DAG runs earlier tests started to end", cluster)
    fresh_start(db_url)
