"""The configuration standalone gives Airflow: ``AIRFLOW__SECTION__KEY`` variables, never airflow.cfg."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

ADMIN_USER = "admin"
SECRETS_FILE = "secrets.json"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"

#: Task processes per core (``[core] parallelism`` = this x the cores). On 2 cores, 50 messages
#: a second to an auto job with a chained job (bench/burst.py, bench/RESULTS.md): 4 slots kept
#: the inbox's p99 under 160 ms and 95% of the runs within 3.8 s; 8 let the task processes crowd
#: out the runs (p95 7-10 s); 2 did as well on the burst but ran a per-message job at 0.7 DAG
#: runs a second (4: 1.7, 8: 2.9), and leave a job that waits on a slow API nothing beside it.
SLOTS_PER_CORE = 2


def cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container's cpuset limits it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def task_slots(cores: int) -> int:
    """``[core] parallelism`` for a machine with ``cores``: the task processes that run at once."""
    return max(2, SLOTS_PER_CORE * cores)


# Values a user may override by exporting the same variable before `make run`.
DEFAULTS = {
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__PARALLELISM": str(task_slots(cores())),
    "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG": "200",
    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "200",
    # The default of 300 s means a new project takes up to five minutes to appear.
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
    "PYTHONUNBUFFERED": "1",  # log files fill as things happen
}


def load_secrets(airflow_home: Path) -> dict[str, str]:
    """The JWT secret and API secret key, generated on the first start and kept (mode 600)."""
    path = airflow_home / SECRETS_FILE
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("jwt_secret") and stored.get("secret_key"):
            os.chmod(path, 0o600)
            return {"jwt_secret": stored["jwt_secret"], "secret_key": stored["secret_key"]}
    values = {"jwt_secret": secrets.token_urlsafe(64), "secret_key": secrets.token_urlsafe(64)}
    airflow_home.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(values, file)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed
    return values


def connection_json(url: str) -> str:
    """An Airflow connection in JSON form (``AIRFLOW_CONN_<ID>``) for an HTTP service."""
    return json.dumps({"conn_type": "http", "host": url})


def airflow_environment(
    base: Mapping[str, str],
    *,
    airflow_home: Path,
    dags_folder: Path,
    database_url: str,
    openfn_database_url: str,
    port: int,
    log_server_ports: tuple[int, int] = (8793, 8794),
    secret_values: Mapping[str, str],
    fake_api_url: str,
    bin_dir: Path,
) -> dict[str, str]:
    """The environment of every child process: ``base`` plus our settings.

    Variables already in ``base`` win over ``DEFAULTS`` (so a user can tune them); the home,
    database, port and execution API address are always ours, since the children must agree.
    """
    env = dict(base)
    for key, value in DEFAULTS.items():
        env.setdefault(key, value)
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(dags_folder))
    env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secret_values["jwt_secret"])
    env.setdefault("AIRFLOW__API__SECRET_KEY", secret_values["secret_key"])
    env.setdefault("AIRFLOW_CONN_EXAMPLE_API", connection_json(fake_api_url))
    # Task processes see [database] sql_alchemy_conn masked ("airflow-db-not-allowed:///"), but the
    # job operator writes the run ledger: give the openfn tables' address explicitly.
    env.setdefault("AIRFLOW__OPENFN__DATABASE_URL", openfn_database_url)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__API__PORT": str(port),
            # The scheduler's and triggerer's log servers: moved when another Airflow holds them.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_server_ports[0]),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_server_ports[1]),
            # Task processes report to the api-server on this address (default: port 8080).
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            # `airflow` and `python` of this virtualenv first, for us and for LocalExecutor tasks.
            "PATH": os.pathsep.join([str(bin_dir), base.get("PATH", os.defpath)]),
        }
    )
    return env


def passwords_file(env: Mapping[str, str]) -> Path:
    """Where the SimpleAuthManager keeps the generated passwords."""
    configured = env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
    return Path(configured) if configured else Path(env["AIRFLOW_HOME"]) / PASSWORDS_FILE


def admin_password(env: Mapping[str, str], user: str = ADMIN_USER) -> str | None:
    """The password the api-server generated for ``user``, or None when not there (yet)."""
    try:
        return json.loads(passwords_file(env).read_text()).get(user)
    except (OSError, ValueError):
        return None
