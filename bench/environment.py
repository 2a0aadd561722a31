"""The bench's own Airflow: a fresh database, a temporary AIRFLOW_HOME and DAGs folder.

``configure()`` must run before anything imports airflow: Airflow reads its database URL and
home once, at import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
ADMIN_URL = os.environ.get("OPENFN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _script_name() -> str:
    stem = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "bench"
    return "".join(c if c.isalnum() else "_" for c in stem.lower()) or "bench"


# One database per bench script (openfn_bench_runtime, openfn_bench_inbox, ...): benches run by
# different people at the same time must not drop each other's database.
DATABASE = os.environ.get("OPENFN_BENCH_DB") or f"openfn_bench_{_script_name()}"
MIGRATE_TIMEOUT = 600


@dataclass(frozen=True)
class Environment:
    home: Path
    dags_folder: Path
    sqlalchemy_url: str  # what Airflow uses
    db_url: str  # the same database for psycopg


def _url(driver: str) -> str:
    url = make_url(ADMIN_URL).set(drivername=driver, database=DATABASE)
    return url.render_as_string(hide_password=False)


def configure() -> Environment:
    """Point this process (and the Airflow processes it starts) at the bench's home and database."""
    home = Path(tempfile.mkdtemp(prefix=f"openfn-bench-{_script_name()}-"))
    env = Environment(
        home=home,
        dags_folder=home / "dags",
        sqlalchemy_url=_url("postgresql+psycopg2"),
        db_url=_url("postgresql"),
    )
    if "airflow" in sys.modules:
        raise RuntimeError("airflow was imported before the bench could configure it")
    # A pip-installed package ships bytecode; this editable install under PYTHONDONTWRITEBYTECODE
    # would make every task process compile our modules again. Cache it outside the repo instead.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.update(
        {
            "PYTHONPYCACHEPREFIX": str(env.home / "pycache"),
            "AIRFLOW_HOME": str(env.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": env.sqlalchemy_url,
            "AIRFLOW__OPENFN__DATABASE_URL": env.sqlalchemy_url,
            "AIRFLOW__CORE__DAGS_FOLDER": str(env.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
    )
    return env


def recreate_database() -> None:
    """Drop the bench database (ending its sessions) and create it empty."""
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=10) as admin:
        name = sql.Identifier(DATABASE)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))


def server_version() -> str:
    with psycopg.connect(ADMIN_URL, connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return row[0].split()[0] if row else "?"


def migrate(env: Environment) -> None:
    """``airflow db migrate``: Airflow's tables and, through our DB manager, the openfn_* ones."""
    log = env.home / "logs" / "db-migrate.out"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
            env=dict(os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=MIGRATE_TIMEOUT,
        )
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"airflow db migrate exited with {done.returncode}:\n{tail}")


def build_dags_folder(env: Environment) -> None:
    """Our two DAG files and .airflowignore, the bench project, and the plain baseline DAG."""
    env.dags_folder.mkdir(parents=True)
    for name in ("openfn_jobs.py", "openfn_spec_check.py", ".airflowignore"):
        shutil.copy2(REPO / "dags" / name, env.dags_folder / name)
    shutil.copytree(BENCH / "project", env.dags_folder / "bench", ignore=_no_caches)
    shutil.copy2(BENCH / "plain_dags" / "plain_partitioned.py", env.dags_folder)


def _no_caches(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "__pycache__"]


def remove(env: Environment) -> None:
    shutil.rmtree(env.home, ignore_errors=True)
