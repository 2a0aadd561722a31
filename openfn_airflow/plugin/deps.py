"""Typed dependencies of the plugin's routes: a database connection and the signed-in user.

Connections come from one pool per process and database URL (the inbox has its own pool of
autocommit connections): opening a connection per request cost ~5 ms of every API call. Pooled
connections never prepare statements server-side: a prepared search would switch to a generic
plan after a few calls and lose the planner's view of its tsquery.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from openfn_airflow.store.database import connection_conninfo
from openfn_airflow.store.errors import DatabaseUnavailable

POOL_MAX_SIZE = 8
POOL_TIMEOUT_SECONDS = 5.0
POOL_CONNECT_TIMEOUT_SECONDS = 5

_pools: dict[str, ConnectionPool] = {}
_lock = threading.Lock()


def _pool() -> ConnectionPool:
    conninfo = connection_conninfo(connect_timeout=POOL_CONNECT_TIMEOUT_SECONDS)
    with _lock:
        pool = _pools.get(conninfo)
        if pool is None:
            pool = ConnectionPool(
                conninfo,
                min_size=0,
                max_size=POOL_MAX_SIZE,
                kwargs={"row_factory": dict_row, "autocommit": False, "prepare_threshold": None},
                timeout=POOL_TIMEOUT_SECONDS,
                name="openfn-api",
                # A connection PostgreSQL dropped (a restart, a failover) is replaced, not lent:
                # lent, it failed its request with a 503 though the database was back.
                check=ConnectionPool.check_connection,
                open=True,
            )
            _pools[conninfo] = pool
        return pool


def get_conn() -> Iterator[psycopg.Connection[Any]]:
    """Lend a pooled connection for one request; what the route did not commit is rolled back."""
    pool = _pool()
    try:
        conn = pool.getconn()
    except PoolTimeout as exc:
        raise DatabaseUnavailable(f"no database connection: {exc}") from exc
    try:
        yield conn
    finally:
        # A broken connection fails here; the pool sees it is broken and discards it.
        with contextlib.suppress(psycopg.Error):
            if not conn.closed:
                conn.rollback()
        pool.putconn(conn)


ConnDep = Annotated[psycopg.Connection[Any], Depends(get_conn)]
# Airflow's own authentication: a Bearer JWT, or the UI's _token cookie.
UserDep = Annotated[BaseUser, Depends(get_user)]
