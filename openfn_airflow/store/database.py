"""Where the openfn_* tables live, how to connect, and how driver errors become domain errors."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row

from openfn_airflow.store.errors import DatabaseUnavailable, StoreError

# SQLAlchemy spells the driver into the scheme ("postgresql+psycopg2://"); libpq does not.
_SCHEME = re.compile(r"^(?P<dialect>[A-Za-z][A-Za-z0-9]*)(?:\+[A-Za-z0-9_]+)?://")
_CONNECT_TIMEOUT_SECONDS = 10


# What Airflow's task supervisor puts in [database] sql_alchemy_conn to block database access.
_BLOCKED = "airflow-db-not-allowed:"


def database_url() -> str:
    """Return the psycopg conninfo of the database holding the openfn_* tables.

    ``[openfn] database_url`` when set, else Airflow's ``[database] sql_alchemy_conn`` without its
    SQLAlchemy driver suffix. Raises StoreError for anything that is not PostgreSQL.
    """
    from airflow.configuration import conf

    own = conf.get("openfn", "database_url", fallback="").strip()
    if own:
        return to_conninfo(own, option="[openfn] database_url")
    airflows = conf.get("database", "sql_alchemy_conn", fallback="")
    if airflows and not airflows.startswith(_BLOCKED):
        return to_conninfo(airflows, option="[database] sql_alchemy_conn")
    # Airflow 3 hides its database from task processes (and workers may not know it at all).
    raise StoreError(
        "openfn-airflow cannot find its database from this process: Airflow hides "
        "[database] sql_alchemy_conn from tasks. Set [openfn] database_url (environment "
        "variable AIRFLOW__OPENFN__DATABASE_URL) to the PostgreSQL URL of the metadata database "
        "for the scheduler, the workers and the api-server."
    )


def to_conninfo(url: str, *, option: str = "[database] sql_alchemy_conn") -> str:
    """Turn a SQLAlchemy or libpq URL into a psycopg conninfo; refuse other databases.

    ``option`` names the setting the URL came from, so the error says what to change.
    """
    match = _SCHEME.match(url)
    if match is None:
        return url  # a keyword conninfo ("host=... dbname=...") is libpq's own form
    dialect = match["dialect"].lower()
    if dialect not in ("postgresql", "postgres"):
        raise StoreError(
            f"openfn-airflow needs PostgreSQL: {option} is a {dialect} URL and {dialect} is "
            f"not supported, set {option} to a postgresql:// URL"
        )
    return "postgresql://" + url[match.end() :]


def connect(url: str | None = None) -> psycopg.Connection[DictRow]:
    """Open a connection (dict rows, autocommit off): the caller owns the transaction and closes it.

    ``url``: a PostgreSQL URL or conninfo; default ``database_url()``.
    """
    with wrap_exceptions():
        return psycopg.connect(connection_conninfo(url), row_factory=dict_row, autocommit=False)


def connect_patiently(
    url: str | None = None,
    *,
    wait: float,
    on_retry: Callable[[DatabaseUnavailable, float], None] | None = None,
) -> psycopg.Connection[DictRow]:
    """``connect()``, trying again for up to ``wait`` seconds while the database is unavailable
    (restarting, failing over); then the last ``DatabaseUnavailable``. ``on_retry(error, delay)``
    is told before each pause."""
    deadline = time.monotonic() + wait
    delay = 0.5
    while True:
        try:
            return connect(url)
        except DatabaseUnavailable as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            pause = min(delay, left)
            if on_retry is not None:
                on_retry(exc, pause)
            time.sleep(pause)
            delay = min(delay * 2, 5.0)


def connection_conninfo(
    url: str | None = None, connect_timeout: int = _CONNECT_TIMEOUT_SECONDS
) -> str:
    """The conninfo that ``connect()`` and the plugin's pools open: ``url`` (default
    ``database_url()``) with a connect timeout unless it sets one, so a black-holed server fails
    fast instead of after the OS gives up minutes later."""
    conninfo = to_conninfo(url, option="the database URL") if url else database_url()
    with wrap_exceptions():
        if "connect_timeout" not in conninfo_to_dict(conninfo):
            conninfo = make_conninfo(conninfo, connect_timeout=connect_timeout)
    return conninfo


@contextmanager
def wrap_exceptions() -> Iterator[None]:
    """Turn psycopg errors into StoreError, and lost or refused connections into DatabaseUnavailable."""
    try:
        yield
    except Exception as exc:
        # SQLAlchemy (used for migrations) wraps the psycopg error it got in .orig.
        error = exc if isinstance(exc, psycopg.Error) else getattr(exc, "orig", None)
        if isinstance(error, psycopg.OperationalError):
            raise DatabaseUnavailable(f"the database is unavailable: {error}".strip()) from exc
        if isinstance(error, psycopg.Error):
            raise StoreError(str(error).strip() or type(error).__name__) from exc
        raise
