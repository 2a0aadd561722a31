"""Faults a production system meets, against the real processes and a PostgreSQL of their own.

The tests start a private PostgreSQL cluster (Debian's ``pg_createcluster``, on a free port) so
they can stop and start it without touching the server the other tests share, run
``airflow db migrate`` on it, and start the api-server, scheduler and dag-processor
(LocalExecutor) against it with a project of their own:

- PostgreSQL stopped in the middle of a burst of POSTs: the inbox answers 503 with Retry-After
  while it is down, every message it acknowledged is stored, and once the database is back every
  one of them gets its run exactly once (components the outage stopped are restarted, as a
  process supervisor would);
- the scheduler killed mid-burst and started again: the runs resume, none twice;
- a job that takes all the memory it can and a job that loops forever: exit 134 and exit 2, and
  the same task slots run the next job as usual.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from cluster import VENV_BIN, Cluster, airflow_env, count_dags, free_port, wait_for
from psycopg.rows import dict_row

pytestmark = [pytest.mark.integration, pytest.mark.scheduler, pytest.mark.faults]

REPO = Path(__file__).resolve().parents[3]
INBOX_ID = "0d7c3c4e-61d5-4a43-9a3c-6f1f0f2b7a11"
PROJECT = f"""
project: faults
inbox:
  id: {INBOX_ID}
triggers:
  patients:
    criteria: {{form: patient}}
  hogs:
    criteria: {{form: hog}}
  spins:
    criteria: {{form: spin}}
jobs:
  register:
    file: jobs/echo.py
    trigger: patients
  hog:
    file: jobs/hog.py
    trigger: hogs
  spin:
    file: jobs/spin.py
    trigger: spins
    timeout: 3s
"""
JOBS = {
    # Half a second per run: a burst keeps runs in progress, for a kill to cut short.
    "echo.py": (
        "import time\n\n"
        "from openfn_airflow.runtime import fn\n\n"
        "operations = [fn(lambda state: time.sleep(0.5) or {**state, 'echoed': True})]\n"
    ),
    "hog.py": (
        "from openfn_airflow.runtime import fn\n\n\n"
        "def hog(state):\n"
        "    blocks = []\n"
        "    while True:\n"
        "        blocks.append(bytearray(16 * 1024 * 1024))\n\n\n"
        "operations = [fn(hog)]\n"
    ),
    "spin.py": (
        "from openfn_airflow.runtime import fn\n\n\n"
        "def spin(state):\n"
        "    while True:\n"
        "        pass\n\n\n"
        "operations = [fn(spin)]\n"
    ),
}


@dataclass
class PrivatePostgres:
    version: str
    name: str
    port: int

    @property
    def db_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/openfn"

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/openfn"

    def ctl(self, action: str, *args: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        wait_for(
            lambda: (
                subprocess.run(
                    ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
                ).returncode
                == 0
            ),
            timeout,
            "the private PostgreSQL",
        )


def _cannot_run_private_postgres() -> str | None:
    if shutil.which("pg_createcluster") is None or not Path("/etc/postgresql").is_dir():
        return "Debian's postgresql-common (pg_createcluster) is not installed"
    if os.geteuid() != 0:
        return "pg_createcluster needs root"
    return None


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    reason = _cannot_run_private_postgres()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the fault tests need a private PostgreSQL: {reason}")
        pytest.skip(reason)
    version = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])[
        -1
    ]
    pg = PrivatePostgres(version, f"openfn_faults_{secrets.token_hex(3)}", free_port())
    subprocess.run(
        ["pg_createcluster", "-p", str(pg.port), version, pg.name, "--", "--auth=trust"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        pg.ctl("start")
        pg.wait_ready()
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{pg.port}/postgres", autocommit=True
        ) as admin:
            admin.execute("CREATE DATABASE openfn")
        yield pg
    finally:
        subprocess.run(
            ["pg_dropcluster", "--stop", version, pg.name], check=False, capture_output=True
        )


@pytest.fixture(scope="module")
def cluster(private_pg: PrivatePostgres, tmp_path_factory) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("airflow-home-faults")
    dags = home / "dags"
    (dags / "faults" / "jobs").mkdir(parents=True)
    for name in ("openfn_jobs.py", "openfn_spec_check.py", ".airflowignore"):
        shutil.copy2(REPO / "dags" / name, dags / name)
    (dags / "faults" / "project.yaml").write_text(PROJECT)
    for name, text in JOBS.items():
        (dags / "faults" / "jobs" / name).write_text(text)
    settings = {
        "AIRFLOW__OPENFN__JOB_MEMORY_LIMIT": "128",
        # The dispatcher retries a lost database every few seconds, not after minutes.
        "AIRFLOW__OPENFN__DISPATCH_POLL_INTERVAL": "0.5",
        # A killed scheduler: its successor resets the task instances the dead one had queued
        # once the dead one's heartbeat is this old, checked this often (defaults 30 s, 300 s).
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "5",
        # Tasks killed with it stop heartbeating: failed, their runs reported lost, after this
        # (default 300 s).
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    }
    migrate = subprocess.run(
        [str(VENV_BIN / "airflow"), "db", "migrate"],
        env=airflow_env(home, private_pg.sqlalchemy_url, dags, **settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    started = Cluster(home, private_pg.sqlalchemy_url, dags, **settings).start()
    try:
        wait_for(
            lambda: count_dags(private_pg.db_url, "openfn__faults__") == 3,
            180,
            "the faults project's DAGs",
            started,
        )
        inbox = f"{started.url}/openfn/inbox/{INBOX_ID}"
        wait_for(lambda: httpx.get(inbox).status_code == 200, 60, "the inbox", started)
        yield started
    finally:
        started.stop()


class Database:
    """Queries on a new connection each: the tests stop and start PostgreSQL under them."""

    def __init__(self, url: str):
        self.url = url

    def execute(self, query: str, params: list | None = None) -> _Rows:
        with psycopg.connect(self.url, autocommit=True, row_factory=dict_row) as conn:
            cursor = conn.execute(query, params)
            rows = cursor.fetchall()
        return _Rows(rows)


class _Rows:
    def __init__(self, rows: list):
        self.rows = rows

    def fetchall(self) -> list:
        return self.rows

    def fetchone(self):
        return self.rows[0] if self.rows else None


@pytest.fixture
def db(private_pg: PrivatePostgres) -> Database:
    return Database(private_pg.db_url)


class Supervisor:
    """Start again every component that exited, as systemd or a restart policy would, and a
    scheduler that stopped heartbeating, as a liveness probe would (Airflow's Helm chart runs
    ``airflow jobs check --job-type SchedulerJob`` for it).

    A component that loses its database exits some time after the outage, sometimes after the
    database is back: ``restart_dead`` is called on every poll of a wait, not once. A scheduler
    whose loop died on the lost database may also never exit: seen once, alive and silent for
    minutes after "Shutting down LocalExecutor; waiting for running tasks to finish", its DAG
    runs' tasks failed to start meanwhile (Airflow's, in ``LocalExecutor.end``), nothing
    scheduled. Its heartbeat in Airflow's ``job`` table says so.
    """

    COMMANDS = {"scheduler": ["scheduler"], "dag-processor": ["dag-processor"]}
    STALE_SECONDS = 45  # [scheduler] scheduler_health_check_threshold is 30 by default

    def __init__(self, cluster: Cluster, db: Database | None = None) -> None:
        self.cluster = cluster
        self.db = db
        self.restarted: list[str] = []
        self.seen: dict[int, float] = {}  # pid -> when first seen alive

    def restart_dead(self) -> list[str]:
        commands = {**self.COMMANDS, "api-server": ["api-server", "--port", str(self.cluster.port)]}
        dead = [name for name, proc in self.cluster.processes.items() if proc.poll() is not None]
        for name in dead:
            self.cluster.processes.pop(name)
        if "scheduler" not in dead and self._scheduler_hangs():
            stop(self.cluster, "scheduler", signal.SIGKILL)
            dead.append("scheduler")
        for name in dead:
            self.cluster._spawn(name, *commands[name])
        self.restarted.extend(dead)
        return dead

    def _scheduler_hangs(self) -> bool:
        """Whether the scheduler has lived a while without a recent heartbeat (the database up)."""
        process = self.cluster.processes.get("scheduler")
        if self.db is None or process is None:
            return False
        alive_for = time.monotonic() - self.seen.setdefault(process.pid, time.monotonic())
        if alive_for < self.STALE_SECONDS:
            return False
        try:
            row = self.db.execute(
                "SELECT extract(epoch FROM now() - max(latest_heartbeat)) AS age FROM job "
                "WHERE job_type = 'SchedulerJob'"
            ).fetchone()
        except psycopg.Error:
            return False  # the database is down: nothing to tell
        return row is not None and row["age"] is not None and row["age"] > self.STALE_SECONDS

    def wait_healthy(self, timeout: float) -> None:
        """Wait until the api-server answers, restarting what exits meanwhile."""

        def healthy() -> bool:
            self.restart_dead()
            try:
                url = f"{self.cluster.url}/api/v2/monitor/health"
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout, "the api-server to answer again")
        # The first /execution/ request builds its routers for seconds: take it now.
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{self.cluster.url}/execution/health", timeout=60)


@pytest.fixture(autouse=True)
def _everything_running(cluster: Cluster) -> None:
    """Each test starts with every component up, whatever the one before left dead."""
    if Supervisor(cluster).restart_dead():
        cluster.wait_healthy(180)


def stop(cluster: Cluster, name: str, sig: int = signal.SIGTERM) -> None:
    process = cluster.processes.pop(name)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    process.wait(60)


class Burst:
    """Clients POSTing patient forms until stopped; every answer kept."""

    def __init__(self, cluster: Cluster, tag: str, clients: int = 2, pause: float = 0.05):
        self.url = f"{cluster.url}/openfn/inbox/{INBOX_ID}"
        self.tag = tag
        self.accepted: list[int] = []
        self.unavailable: list[httpx.Response] = []
        self.other: list[tuple[int, str]] = []
        self.cut = 0
        self.pause = pause  # between a client's requests: a burst, not a flood of runs to wait for
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._numbers = iter(range(10**6))
        self._threads = [threading.Thread(target=self._client) for _ in range(clients)]

    def __enter__(self) -> Burst:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _client(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self._stop.is_set():
                with self._lock:
                    n = next(self._numbers)
                try:
                    answer = http.post(
                        self.url, json={"form": "patient", "burst": self.tag, "n": n}
                    )
                except httpx.HTTPError:
                    with self._lock:
                        self.cut += 1
                    time.sleep(0.1)
                    continue
                with self._lock:
                    if answer.status_code == 202:
                        self.accepted.append(answer.json()["message_id"])
                    elif answer.status_code == 503:
                        self.unavailable.append(answer)
                    else:
                        self.other.append((answer.status_code, answer.text))
                time.sleep(0.2 if answer.status_code == 503 else self.pause)

    def wait_accepted(self, count: int, timeout: float = 60) -> None:
        wait_for(lambda: len(self.accepted) >= count, timeout, f"{count} accepted messages")


def stored(db: Database, tag: str) -> dict[int, int]:
    """Message id -> its dispatch rows, for the burst's stored messages."""
    rows = db.execute(
        "SELECT m.id, count(d.id) AS dispatches FROM openfn_message AS m "
        "LEFT JOIN openfn_dispatch AS d ON d.message_id = m.id "
        "WHERE m.body ->> 'burst' = %s GROUP BY m.id",
        [tag],
    ).fetchall()
    return {row["id"]: row["dispatches"] for row in rows}


def runs_of(db: Database, message_ids: list[int]) -> dict[int, list[str]]:
    rows = db.execute(
        "SELECT message_id, status FROM openfn_run WHERE job = 'register' "
        "AND message_id = ANY(%s) ORDER BY id",
        [message_ids],
    ).fetchall()
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row["message_id"], []).append(row["status"])
    return found


def running(db: Database, tag: str) -> int:
    """How many of the burst's runs are in progress."""
    row = db.execute(
        "SELECT count(*) AS n FROM openfn_run AS r JOIN openfn_message AS m ON m.id = r.message_id "
        "WHERE m.body ->> 'burst' = %s AND r.status = 'running'",
        [tag],
    ).fetchone()
    return row["n"] if row else 0


def every_message_ran_once(
    cluster: Cluster,
    db: Database,
    ids: list[int],
    lost_allowed: bool = False,
    supervisor: Supervisor | None = None,
) -> dict[int, list[str]]:
    """Wait until each message's runs ended: one success each, never two.

    With ``lost_allowed``, a run whose process died with a killed component may come before the
    success, reported crashed (exit 5, "lost") and repeated, never left running. With a
    ``supervisor``, components that exit meanwhile are started again instead of failing the wait.
    """

    last: dict[int, list[str]] = {}
    # A crashed run is repeated: with lost ones allowed, a message whose last run crashed is not
    # done yet (an auto job's DAG run repeats the crashed runs of its batch one after another).
    unfinished = ("pending", "running", *(["crashed"] if lost_allowed else []))

    def done() -> dict[int, list[str]] | None:
        if supervisor is not None:
            supervisor.restart_dead()
        last.clear()
        last.update(runs_of(db, ids))
        finished = all(last.get(i) and last[i][-1] not in unfinished for i in ids)
        return dict(last) if finished else None

    try:
        watched = None if supervisor is not None else cluster
        found = wait_for(done, 240, f"runs of {len(ids)} messages", watched)
    except AssertionError as exc:
        waiting = {i: last.get(i, []) for i in ids if not last.get(i) or last[i][-1] in unfinished}
        raise AssertionError(f"{exc}; messages not done (their runs): {waiting}") from None
    time.sleep(3)  # a duplicate event would have started a second run by now
    assert runs_of(db, ids) == found
    earlier = ["crashed"] if lost_allowed else []
    wrong = {
        i: statuses
        for i, statuses in found.items()
        if statuses[-1] != "success" or any(s not in earlier for s in statuses[:-1])
    }
    assert wrong == {}, f"messages whose runs are not one success (after lost ones): {wrong}"
    return found


def test_postgres_down_mid_burst_loses_nothing_acknowledged(cluster, private_pg, db):
    tag = f"pg-{time.time()}"
    with Burst(cluster, tag) as burst:
        burst.wait_accepted(20)
        private_pg.ctl("stop", "-m", "fast")
        try:
            wait_for(
                lambda: len(burst.unavailable) >= 5, 60, "503 answers while PostgreSQL is down"
            )
            accepted_while_down = len(burst.accepted)
            time.sleep(2)
            assert len(burst.accepted) == accepted_while_down  # nothing acknowledged meanwhile
        finally:
            private_pg.ctl("start")
            private_pg.wait_ready()
        before = len(burst.accepted)
        burst.wait_accepted(before + 20, timeout=120)  # the inbox takes messages again
    assert burst.other == []
    assert all(answer.headers.get("retry-after") for answer in burst.unavailable)
    assert all("database" in answer.text.lower() for answer in burst.unavailable)

    supervisor = Supervisor(cluster, db)
    supervisor.wait_healthy(180)
    found = stored(db, tag)
    # Every acknowledged message is there, each with its one delivery; nothing half-written.
    assert set(burst.accepted) <= set(found)
    assert set(found.values()) == {1}
    assert len(found) <= len(burst.accepted) + burst.cut
    every_message_ran_once(cluster, db, sorted(found), supervisor=supervisor)
    restarted = sorted(set(supervisor.restarted))
    print(
        f"{len(burst.accepted)} accepted, {len(burst.unavailable)} answered 503, "
        f"{burst.cut} cut; restarted after the outage: {restarted or 'nothing'}"
    )


def test_the_scheduler_killed_mid_burst_resumes(cluster, db):
    tag = f"sched-{time.time()}"
    with Burst(cluster, tag) as burst:
        burst.wait_accepted(15)
        wait_for(lambda: running(db, tag), 60, "a run in progress", cluster)
        stop(cluster, "scheduler", signal.SIGKILL)
        burst.wait_accepted(len(burst.accepted) + 15)
        cluster._spawn("scheduler", "scheduler")
        burst.wait_accepted(len(burst.accepted) + 10)
    assert burst.other == [] and burst.unavailable == []
    # The task processes of the killed scheduler's LocalExecutor outlive it (each has its own
    # process group) and finish their runs; the restarted scheduler starts those tasks again,
    # and the new attempts wait for the old processes, then repeat only runs that did not finish.
    found = every_message_ran_once(cluster, db, sorted(burst.accepted), lost_allowed=True)
    lost = [i for i, statuses in found.items() if len(statuses) > 1]
    again = db.execute(
        "SELECT count(*) AS n FROM task_instance WHERE dag_id = 'openfn__faults__register' "
        "AND task_id = 'run' AND try_number > 1"
    ).fetchone()["n"]
    print(
        f"{len(found)} messages, each succeeded once; {again} tasks started again by the new "
        f"scheduler; {len(lost)} messages had a run lost first"
    )
    assert again >= 1  # the run in progress at the kill: its task was started again


def last_run(db: Database, job: str, message_id: int) -> dict | None:
    return db.execute(
        "SELECT status, exit_code, log FROM openfn_run WHERE job = %s AND message_id = %s "
        "AND status NOT IN ('pending', 'running') ORDER BY id DESC LIMIT 1",
        [job, message_id],
    ).fetchone()


def test_memory_hogs_and_endless_loops_are_stopped_and_the_worker_goes_on(cluster, db):
    inbox = f"{cluster.url}/openfn/inbox/{INBOX_ID}"
    hog = httpx.post(inbox, json={"form": "hog"}).json()["message_id"]
    spin = httpx.post(inbox, json={"form": "spin"}).json()["message_id"]
    ran = {
        job: wait_for(lambda j=job, m=m: last_run(db, j, m), 240, f"the {job} run", cluster)
        for job, m in (("hog", hog), ("spin", spin))
    }
    assert (ran["hog"]["status"], ran["hog"]["exit_code"]) == ("killed", 134)
    assert "Out of memory" in ran["hog"]["log"] and "128 MB" in ran["hog"]["log"]
    assert (ran["spin"]["status"], ran["spin"]["exit_code"]) == ("killed", 2)
    assert "Timed out after 3 s" in ran["spin"]["log"]
    # The task processes recorded both runs themselves, and the next job runs as usual.
    after = httpx.post(inbox, json={"form": "patient", "after": "hogs"}).json()["message_id"]
    every_message_ran_once(cluster, db, [after])
