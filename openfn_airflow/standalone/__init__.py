"""``openfn-airflow standalone``: PostgreSQL, every Airflow component and the example project, on one machine.

What ``make run`` starts. It configures Airflow through ``AIRFLOW__SECTION__KEY`` variables given
to its child processes (``airflow.cfg`` is never edited), keeps ``AIRFLOW_HOME`` in ``./.airflow``,
writes the settings the CLI beside it needs to ``.airflow/openfn-standalone.json``, writes each
component's output to ``.airflow/logs/<component>.log`` and shows only errors on the terminal (``--verbose`` shows everything). Ctrl-C or SIGTERM stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from openfn_airflow.standalone.api_server import (
    COMPONENTS,
    HEALTH_PATH,
    WARM_PATH,
    free_port,
    get_json,
    port_in_use,
    unhealthy,
)
from openfn_airflow.standalone.database import (
    Database,
    DatabaseError,
    libpq_url,
    resolve_database,
)
from openfn_airflow.standalone.environment import (
    admin_password,
    airflow_environment,
    load_secrets,
    passwords_file,
)
from openfn_airflow.standalone.processes import (
    Child,
    StopRequest,
    Supervisor,
    become_subreaper,
)
from openfn_airflow.standalone.settings_file import write_settings

HEALTH_TIMEOUT = 300.0
STOP_TIMEOUT = 20.0


def say(message: str = "") -> None:
    print(message, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openfn-airflow standalone",
        description="Run PostgreSQL, Airflow and the example project on this machine.",
    )
    parser.add_argument("--port", type=int, default=8080, help="api-server / UI port (8080)")
    parser.add_argument(
        "--fake-api-port", type=int, default=8099, help="port of the example's fake API (8099)"
    )
    parser.add_argument(
        "--dags-folder", type=Path, default=Path("dags"), help="DAGs folder (./dags)"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show every component's log on the terminal"
    )
    return parser


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """Parse standalone's options; a leading ``--`` (``openfn-airflow standalone -- ...``) is skipped."""
    argv = list(argv)
    return build_parser().parse_args(argv[1:] if argv[:1] == ["--"] else argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start everything, wait for Ctrl-C / SIGTERM, stop everything; the exit code is 0 when asked to stop."""
    started = time.monotonic()
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    stop = StopRequest()
    stop.install()
    cwd = Path.cwd()
    airflow_home = Path(os.environ.get("AIRFLOW_HOME") or cwd / ".airflow").resolve()
    for port, what in ((args.port, "--port"), (args.fake_api_port, "--fake-api-port")):
        if port_in_use(port):
            say(f"error: port {port} is already in use (another Airflow?); choose one with {what}")
            return 2
    try:
        database = resolve_database(os.environ, cwd / ".pgdata", say)
    except DatabaseError as exc:
        say(f"error: {exc}")
        return 2
    try:
        return _run(args, stop, started, airflow_home, database)
    finally:
        database.stop()


def _run(
    args: argparse.Namespace,
    stop: StopRequest,
    started: float,
    airflow_home: Path,
    database: Database,
) -> int:
    become_subreaper()
    bin_dir = Path(sys.executable).parent
    airflow = (
        str(bin_dir / "airflow") if (bin_dir / "airflow").exists() else shutil.which("airflow")
    )
    if airflow is None:
        say("error: the `airflow` command is not installed in this environment")
        return 2
    fake_api_url = f"http://127.0.0.1:{args.fake_api_port}"
    env = airflow_environment(
        os.environ,
        airflow_home=airflow_home,
        dags_folder=args.dags_folder.resolve(),
        database_url=database.url,
        openfn_database_url=libpq_url(database.url),
        port=args.port,
        log_server_ports=(free_port(8793), free_port(8794)),
        secret_values=load_secrets(airflow_home),
        fake_api_url=fake_api_url,
        bin_dir=bin_dir,
    )
    # Commands in another terminal of this checkout read these (openfn_airflow.cli).
    write_settings(airflow_home, env)
    supervisor = Supervisor(env, airflow_home / "logs", say, verbose=args.verbose)
    try:
        return _supervise(args, stop, started, supervisor, env, database, airflow, fake_api_url)
    finally:
        say(f"stopping everything (up to {STOP_TIMEOUT:.0f} s; Ctrl-C again to kill at once) ...")
        stopping = time.monotonic()
        supervisor.stop(STOP_TIMEOUT, force=lambda: stop.count > 1)
        if database.server is not None:
            say("stopping the embedded PostgreSQL ...")
        database.stop()
        say(f"stopped in {time.monotonic() - stopping:.1f} s")


def _supervise(
    args: argparse.Namespace,
    stop: StopRequest,
    started: float,
    supervisor: Supervisor,
    env: dict[str, str],
    database: Database,
    airflow: str,
    fake_api_url: str,
) -> int:
    database_ready = time.monotonic()
    say(f"database: {database.display}")
    say("migrating the database (airflow db migrate) ...")
    code = supervisor.run("db-migrate", [airflow, "db", "migrate"], stop)
    if code is None:
        return 0
    if code != 0:
        return _report_failure(supervisor, "db-migrate", code)
    migrated = time.monotonic()
    say(f"migrated in {migrated - database_ready:.1f} s")
    _install_adaptors(supervisor, stop)
    say("starting Airflow ...")

    supervisor.start(
        "fake-api",
        [sys.executable, "-m", "openfn_airflow.fake_api", "--port", str(args.fake_api_port)],
    )
    for name in ("api-server", "dag-processor", "triggerer"):
        supervisor.start(name, [airflow, name])
    # The scheduler starts once the api-server answers: a task queued earlier finds the execution
    # API refused and fails. It boots while the execution API warms up.
    base_url = f"http://127.0.0.1:{args.port}"
    answered = _wait_healthy(supervisor, stop, base_url, ("metadatabase",))
    if answered is not True:
        return answered
    supervisor.start("scheduler", [airflow, "scheduler"])
    warm_started = time.monotonic()
    status, _ = get_json(base_url + WARM_PATH, timeout=60)
    warm_seconds = time.monotonic() - warm_started
    healthy = _wait_healthy(supervisor, stop, base_url, COMPONENTS)
    if healthy is not True:
        return healthy
    ready = time.monotonic()

    say()
    say(
        f"openfn-airflow is up in {ready - started:.1f} s (database {database_ready - started:.1f} s, "
        f"migration {migrated - database_ready:.1f} s, Airflow {ready - migrated:.1f} s "
        f"of which execution API warm-up {warm_seconds:.1f} s"
        f"{'' if status == 200 else f' (answered {status})'})"
    )
    _banner(args, env, database, supervisor, fake_api_url)
    while not stop.requested:
        supervisor.pump()
        if dead := supervisor.dead():
            return _report_failure(supervisor, dead[0].name, dead[0].process.returncode)  # type: ignore[union-attr]
        time.sleep(0.5)
    return 0


def _install_adaptors(supervisor: Supervisor, stop: StopRequest) -> None:
    """Install the adaptors the projects' JavaScript jobs pin, before their first run needs them.

    Without it the dag-processor starts the same install in the background at its first parse,
    and a message arriving before it ends runs with exit 3 (adaptor not installed).
    """
    if shutil.which("npm") is None:
        say("npm not found: JavaScript jobs will not run (they need Node.js 20+ and npm)")
        return
    say("installing the adaptors the projects name (openfn-airflow adaptors install) ...")
    began = time.monotonic()
    cli = [sys.executable, "-m", "openfn_airflow.cli", "adaptors", "install"]
    code = supervisor.run("adaptors", cli, stop)
    if code == 0:
        say(f"adaptors ready in {time.monotonic() - began:.1f} s")
    elif code is not None:
        say(f"installing adaptors failed (exit {code}): see the adaptors log; starting anyway")


def _banner(
    args: argparse.Namespace,
    env: dict[str, str],
    database: Database,
    supervisor: Supervisor,
    fake_api_url: str,
) -> None:
    user = env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(",")[0].split(":")[0].strip()
    password = admin_password(env, user) or f"(see {passwords_file(env)})"
    say()
    say(f"  UI         http://localhost:{args.port}")
    say(f"  login      {user} / {password}")
    say(f"  database   {database.display}")
    say(f"  DAGs       {env['AIRFLOW__CORE__DAGS_FOLDER']} (new files appear within 30 s)")
    say(f"  fake API   {fake_api_url} (Airflow connection example_api)")
    for project, url in _inbox_urls(env, args.port):
        say(f"  inbox      {url} (project {project})")
    say(f"  logs       {supervisor.log_dir}/<component>.log")
    say()
    say("Ctrl-C stops everything.")


def _inbox_urls(env: dict[str, str], port: int) -> list[tuple[str, str]]:
    """Each project's inbox URL (the registry synced from the DAGs folder first); none on error."""
    try:
        from openfn_airflow.inbox.registry import sync_projects
        from openfn_airflow.store.database import connect
        from openfn_airflow.store.projects import list_projects

        with connect(env["AIRFLOW__OPENFN__DATABASE_URL"]) as conn:
            sync_projects(conn, env["AIRFLOW__CORE__DAGS_FOLDER"], prune=False)
            conn.commit()
            projects = list_projects(conn)
    except Exception as exc:  # the banner never fails the start; the dispatcher syncs later
        say(f"  inbox      (not listed: {exc}; the Project settings screen shows it)")
        return []
    return [
        (row["name"], f"http://localhost:{port}/openfn/inbox/{row['inbox_id']}") for row in projects
    ]


def _wait_healthy(
    supervisor: Supervisor, stop: StopRequest, base_url: str, components: Sequence[str]
) -> bool | int:
    """True once ``components`` report healthy; an exit code when something failed first."""
    deadline = time.monotonic() + HEALTH_TIMEOUT
    waiting: list[str] = []
    while time.monotonic() < deadline:
        if stop.requested:
            return 0
        supervisor.pump()
        if dead := supervisor.dead():
            return _report_failure(supervisor, dead[0].name, dead[0].process.returncode)  # type: ignore[union-attr]
        status, health = get_json(base_url + HEALTH_PATH, timeout=5)
        waiting = unhealthy(health, components) if status == 200 else ["api-server"]
        if not waiting:
            return True
        time.sleep(1)
    say(f"warning: not healthy after {HEALTH_TIMEOUT:.0f} s: {', '.join(waiting)}; see the logs")
    return True


def _report_failure(supervisor: Supervisor, name: str, code: int | None) -> int:
    log = Child(name, [], supervisor.log_dir / f"{name}.log")
    say(f"error: {name} exited unexpectedly (exit code {code}); the end of {log.log_path}:")
    for line in log.tail(25):
        say(f"  [{name}] {line}")
    return 1
