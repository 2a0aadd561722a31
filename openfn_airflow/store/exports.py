"""CSV exports streamed straight out of PostgreSQL with ``COPY ... TO STDOUT``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from openfn_airflow.store.database import wrap_exceptions


def copy_csv(conn: psycopg.Connection, statement: str, params: dict[str, Any]) -> Iterator[bytes]:
    """Yield the output of a ``COPY (...) TO STDOUT`` statement block by block.

    Memory stays constant whatever the row count. psycopg binds ``params`` client-side (COPY
    takes no server-side parameters), quoting every value as a literal.
    """
    with wrap_exceptions(), conn.cursor() as cur, cur.copy(statement, params) as copy:
        for block in copy:
            yield bytes(block)
