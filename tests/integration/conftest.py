"""Fixtures of every integration test: a real PostgreSQL database per pytest session.

The session database is cloned (``CREATE DATABASE ... TEMPLATE``, well under a second) from a
template that ``airflow db migrate`` built once; the template is named after a hash of the Airflow
and provider versions and of our migrations, so it is rebuilt only when one of them changes.
Concurrent pytest sessions (and xdist workers) each get their own database; the template is
built and cloned under an advisory lock.

Airflow is pointed at the session database here, at import, before anything imports airflow.
``OPENFN_TEST_PG`` (a postgresql:// URL of a role allowed to CREATE DATABASE) names the server;
default ``postgresql://postgres@127.0.0.1:5432/postgres``. An unreachable server fails every
integration test with that message, it never skips them.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
BASE_URL = os.environ.get("OPENFN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
AIRFLOW_BIN = Path(sys.executable).parent / "airflow"
# pg_advisory_lock key serialising template builds and clones across pytest sessions.
TEMPLATE_LOCK_ID = 0x6F70656E7465  # "opente"
DB_PREFIX = "openfn_test"

if "airflow.settings" in sys.modules:
    raise pytest.UsageError(
        "airflow was imported before tests/integration/conftest.py could point it at the test "
        "database; do not import airflow in tests/conftest.py or in pytest plugins"
    )


def _database_url(dbname: str, driver: str = "postgresql") -> str:
    url = make_url(BASE_URL).set(drivername=driver, database=dbname)
    return url.render_as_string(hide_password=False)


def _template_name() -> str:
    """Name the template after everything that shapes the migrated database."""
    digest = hashlib.sha256()
    for dist in sorted(
        {
            ep.dist.name
            for ep in importlib.metadata.entry_points(group="apache_airflow_provider")
            if ep.dist is not None
        }
        | {"apache-airflow", "apache-airflow-core"}
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            digest.update(f"{dist}=={importlib.metadata.version(dist)}\n".encode())
    store = REPO / "openfn_airflow" / "store"
    for path in sorted((store / "migrations").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(store).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update((REPO / "openfn_airflow" / "provider.py").read_bytes())
    return f"{DB_PREFIX}_tmpl_{digest.hexdigest()[:16]}"


SESSION_DB = f"{DB_PREFIX}_s_{os.getpid()}_{secrets.token_hex(3)}"
SESSION_SQLALCHEMY_URL = _database_url(SESSION_DB, "postgresql+psycopg2")

# AIRFLOW_HOME (a temporary directory) and LOAD_EXAMPLES come from tests/conftest.py.
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"


def _dags_folder() -> Path:
    """A DAGs folder holding the repo's job DAG files, the example project and the test projects."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="openfn-dags-"))
    # Without the maintenance DAG: every scheduler the tests start would run it once (it is
    # unpaused on creation), in the middle of their runs. Its tests use a folder of their own.
    shutil.copytree(
        REPO / "dags",
        folder,
        dirs_exist_ok=True,
        ignore=lambda _, names: [n for n in names if n == "openfn_maintenance.py"],
    )
    shutil.copytree(REPO / "tests" / "integration" / "projects", folder, dirs_exist_ok=True)
    return folder


DAGS_FOLDER = _dags_folder()
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
os.environ["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = SESSION_SQLALCHEMY_URL
os.environ.pop("AIRFLOW__OPENFN__DATABASE_URL", None)


def _admin_connection() -> psycopg.Connection:
    try:
        return psycopg.connect(BASE_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        problem = str(exc).strip()
    shown = make_url(BASE_URL).render_as_string(hide_password=True)
    pytest.fail(
        f"integration tests need PostgreSQL, and {shown} is not reachable: {problem}\n"
        "Start PostgreSQL, or set OPENFN_TEST_PG to the postgresql:// URL of a role that may "
        "CREATE DATABASE.",
        pytrace=False,
    )


def _database_exists(admin: psycopg.Connection, name: str) -> bool:
    return (
        admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
    )


def _drop_database(admin: psycopg.Connection, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _clone(admin: psycopg.Connection, template: str, name: str) -> None:
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    # A backend that just disconnected from the template can linger for a moment.
    for attempt in range(50):
        try:
            admin.execute(statement)
            return
        except psycopg.errors.ObjectInUse:
            if attempt == 49:
                raise
            time.sleep(0.1)


def _build_template(admin: psycopg.Connection, template: str) -> None:
    """Run the real ``airflow db migrate`` (Airflow's tables, then ours through OpenFnDBManager)."""
    building = f"{template}_build"
    _drop_database(admin, building)  # left over by a session killed while building
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
    env = {
        **os.environ,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _database_url(building, "postgresql+psycopg2"),
    }
    result = subprocess.run(
        [str(AIRFLOW_BIN), "db", "migrate"], env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        _drop_database(admin, building)
        pytest.fail(
            f"`airflow db migrate` failed while building the test template database:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    # Renaming makes the finished template appear at once; a half-built one never has its name.
    admin.execute(
        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(building), sql.Identifier(template)
        )
    )
    # Templates of other Airflow versions or migrations; safe to drop while we hold the lock.
    stale = admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
        [f"{DB_PREFIX}\\_tmpl\\_%", template],
    ).fetchall()
    for (name,) in stale:
        _drop_database(admin, name)


def _clone_template(name: str) -> None:
    """Create database ``name`` as a copy of the template, building the template first if needed."""
    template = _template_name()
    with _admin_connection() as admin:
        admin.execute("SELECT pg_advisory_lock(%s)", [TEMPLATE_LOCK_ID])
        try:
            if not _database_exists(admin, template):
                started = time.monotonic()
                _build_template(admin, template)
                print(f"\nbuilt {template} in {time.monotonic() - started:.1f}s", file=sys.stderr)
            _clone(admin, template, name)
        finally:
            admin.execute("SELECT pg_advisory_unlock(%s)", [TEMPLATE_LOCK_ID])


@pytest.fixture(scope="session", autouse=True)
def _session_database() -> Iterator[None]:
    _clone_template(SESSION_DB)
    yield
    if "airflow.settings" in sys.modules:  # close Airflow's pooled connections before the drop
        sys.modules["airflow.settings"].dispose_orm()
    with _admin_connection() as admin:
        _drop_database(admin, SESSION_DB)


@pytest.fixture(autouse=True)
def _close_airflows_session() -> Iterator[None]:
    """End the transaction Airflow's ``dag.test()`` leaves open in this thread's session.

    ``dag.test()`` reads the task instances once more after its last commit, so the scoped
    session keeps a connection "idle in transaction" after the test. A later test that drops the
    database's connections (a PostgreSQL restart, as the pool tests make one) killed it, and the
    next in-process Airflow call, in whichever module came next, failed with "server closed the
    connection unexpectedly".
    """
    yield
    settings = sys.modules.get("airflow.settings")
    if settings is not None and getattr(settings, "Session", None) is not None:
        from sqlalchemy.exc import DBAPIError

        try:
            settings.Session.remove()
        except DBAPIError:  # its connection was dropped during the test: nothing to end
            settings.Session.registry.clear()


@pytest.fixture(scope="session")
def db_url(_session_database: None) -> str:
    """The psycopg URL of this session's database (Airflow's tables and ours, migrated)."""
    return _database_url(SESSION_DB)


@pytest.fixture(scope="session")
def sqlalchemy_url(_session_database: None) -> str:
    """The same database as Airflow's ``[database] sql_alchemy_conn`` spells it."""
    return SESSION_SQLALCHEMY_URL


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection (dict rows, in a transaction) to the session database, rolled back after."""
    from openfn_airflow.store.database import connect

    connection = connect(db_url)
    try:
        yield connection
    finally:
        connection.rollback()
        connection.close()


@pytest.fixture
def clean_db(db_url: str) -> None:
    """Empty the openfn_* tables (ids restart at 1) before the test."""
    from cluster import empty_openfn_tables

    empty_openfn_tables(db_url)


@pytest.fixture
def empty_database() -> Iterator[Callable[[], str]]:
    """Make empty databases (no tables at all) on demand; each is dropped after the test."""
    created: list[str] = []

    def make() -> str:
        name = f"{DB_PREFIX}_e_{os.getpid()}_{secrets.token_hex(3)}"
        with _admin_connection() as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        created.append(name)
        return _database_url(name)

    yield make
    if created:
        with _admin_connection() as admin:
            for name in created:
                _drop_database(admin, name)


@pytest.fixture
def template_clone() -> Iterator[Callable[[], str]]:
    """Make copies of the migrated template database on demand; each is dropped after the test."""
    created: list[str] = []

    def make() -> str:
        name = f"{DB_PREFIX}_c_{os.getpid()}_{secrets.token_hex(3)}"
        _clone_template(name)
        created.append(name)
        return _database_url(name)

    yield make
    if created:
        with _admin_connection() as admin:
            for name in created:
                _drop_database(admin, name)


@pytest.fixture(scope="session")
def fake_api() -> Iterator[object]:
    """The local stand-in for a third-party API; the ``fake_api`` connection points at it."""
    from openfn_airflow.fake_api import FakeApi

    server = FakeApi().start()
    os.environ["AIRFLOW_CONN_FAKE_API"] = json.dumps(
        {"conn_type": "http", "host": server.url, "login": "openfn", "password": "s3cret-pa55"}
    )
    yield server
    server.stop()


# Real Airflow processes shared by the modules that ask for them: ``shared_cluster`` (api-server,
# scheduler, dag-processor on the session's DAGs folder) and ``ui_server`` (an api-server for the
# browser modules, ui/conftest.py); starting one and waiting for its first parse costs tens of
# seconds. The modules sharing one are moved next to each other (below); each is stopped after
# the last test using it, so no other test runs beside it (tests/cluster.py ``shared``), and a
# module that asks again later (pytest-xdist hands a worker modules in its own order) starts it
# anew.
SHARED_CLUSTER = "shared_cluster"
SHARED = (SHARED_CLUSTER, "ui_server")


def _uses(item: pytest.Item, name: str) -> bool:
    return name in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules that share processes one after the other, where the first of them was."""
    for name in SHARED:
        modules = {item.module for item in items if _uses(item, name)}  # type: ignore[attr-defined]
        sharing = [item for item in items if getattr(item, "module", None) in modules]
        if not sharing:
            continue
        at = items.index(sharing[0])
        rest = [item for item in items if getattr(item, "module", None) not in modules]
        items[:] = rest[:at] + sharing + rest[at:]


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    from cluster import stop_shared

    for name in SHARED:
        if _uses(item, name) and (nextitem is None or not _uses(nextitem, name)):
            stop_shared(name)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Nothing shared outlives the session (an interrupted run skips the teardown above)."""
    from cluster import stop_shared

    for name in SHARED:
        stop_shared(name)


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory, sqlalchemy_url: str, db_url: str, fake_api) -> object:
    """The real Airflow processes on the session's DAGs folder (the test projects).

    A module asking for it starts from ``settle``: what an earlier module left running has
    ended and the openfn tables are empty.
    """
    from cluster import Cluster, fresh_start, shared

    def start() -> Cluster:
        fresh_start(db_url)
        home = tmp_path_factory.mktemp("airflow-home-shared")
        return Cluster(home, sqlalchemy_url, DAGS_FOLDER).start()

    return shared(SHARED_CLUSTER, start)
