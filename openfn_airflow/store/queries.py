"""The SQL of the store: named blocks in ``sql/*.sql``, loaded once, run through one error mapping.

The blocks that read or write Airflow's own tables live apart, in ``openfn_airflow/airflow_db/sql``
(see ``openfn_airflow.airflow_db``); they load into the same namespace, so any block may include
them and every caller runs them by name the same way.

A block starts with a line ``-- name --`` and runs to the next one; parameters are ``%(name)s``.
A block may include another with the comment ``/* include other_block */`` (shared filter
conditions, for instance), replaced by that block's text when the queries are loaded.
``schema.sql`` is the canonical DDL, not queries, and is read by ``schema.py`` instead.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from typing import Any

import psycopg
from psycopg.rows import dict_row

from openfn_airflow.store.database import wrap_exceptions
from openfn_airflow.store.errors import DatabaseUnavailable, StatementTimedOut

_BLOCK_HEADER = re.compile(r"^-- ([a-z][a-z0-9_]*) --[ \t]*$", re.MULTILINE)
_INCLUDE = re.compile(r"/\*\s*include ([a-z][a-z0-9_]*)\s*\*/")
_NOT_QUERIES = {"schema.sql"}
#: Where the named blocks are: the store's, then those over Airflow's tables.
SQL_PACKAGES = ("openfn_airflow.store", "openfn_airflow.airflow_db")


def parse_blocks(text: str, source: str) -> dict[str, str]:
    """Split SQL text into its named blocks; text before the first header is a comment and dropped."""
    headers = list(_BLOCK_HEADER.finditer(text))
    blocks: dict[str, str] = {}
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        end = following.start() if following else len(text)
        name = header[1]
        if name in blocks:
            raise ValueError(f"{source}: the block -- {name} -- is defined twice")
        blocks[name] = text[header.end() : end].strip()
    return blocks


@functools.cache
def _all_queries() -> dict[str, str]:
    queries: dict[str, str] = {}
    for package in SQL_PACKAGES:
        sql_dir = importlib.resources.files(package) / "sql"
        where = package.rpartition(".")[2]
        for entry in sorted(sql_dir.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".sql") or entry.name in _NOT_QUERIES:
                continue
            source = f"{where}/sql/{entry.name}"
            for name, sql in parse_blocks(entry.read_text(encoding="utf-8"), source).items():
                if name in queries:
                    raise ValueError(f"{source}: the query {name} is also defined elsewhere")
                queries[name] = sql
    return expand_includes(queries)


def expand_includes(blocks: dict[str, str]) -> dict[str, str]:
    """Replace every ``/* include x */`` comment by the text of block ``x``; ValueError on a cycle."""

    def expand(name: str, including: tuple[str, ...]) -> str:
        if name in including:
            raise ValueError(f"SQL block {name} includes itself: {' -> '.join((*including, name))}")

        def replace(match: re.Match[str]) -> str:
            if match[1] not in blocks:
                raise ValueError(f"SQL block {name} includes {match[1]}, which does not exist")
            return expand(match[1], (*including, name))

        return _INCLUDE.sub(replace, blocks[name])

    return {name: expand(name, ()) for name in blocks}


def query(name: str) -> str:
    """Return the SQL of the named block; KeyError names the block when there is none."""
    try:
        return _all_queries()[name]
    except KeyError:
        raise KeyError(
            f"no SQL block named {name!r} in openfn_airflow/store/sql or airflow_db/sql"
        ) from None


def execute(conn: psycopg.Connection, name: str, /, **params: Any) -> int:
    """Run a named statement and return the number of rows it touched."""
    with wrap_exceptions():
        return conn.execute(query(name), params).rowcount


def fetch_one(conn: psycopg.Connection, name: str, /, **params: Any) -> dict[str, Any] | None:
    """Run a named query and return its first row as a dict, or None."""
    with wrap_exceptions(), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query(name), params).fetchone()


def fetch_one_within(
    conn: psycopg.Connection, name: str, budget_ms: int, /, **params: Any
) -> dict[str, Any] | None:
    """``fetch_one`` that gives up after ``budget_ms``: StatementTimedOut, the transaction intact.

    The statement runs in a savepoint with a local ``statement_timeout``; the timeout that was in
    force before is restored after it, and a cancelled statement rolls back to the savepoint only.
    """
    try:
        with wrap_exceptions(), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            previous = cur.execute(
                "SELECT current_setting('statement_timeout') AS value, "
                "set_config('statement_timeout', %s, true)",
                [f"{int(budget_ms)}ms"],
            ).fetchone()
            assert previous is not None
            row = cur.execute(query(name), params).fetchone()
            cur.execute("SELECT set_config('statement_timeout', %s, true)", [previous["value"]])
            return row
    except DatabaseUnavailable as exc:
        if isinstance(exc.__cause__, psycopg.errors.QueryCanceled):
            raise StatementTimedOut(f"{name} took longer than {budget_ms} ms") from None
        raise


def fetch_all(conn: psycopg.Connection, name: str, /, **params: Any) -> list[dict[str, Any]]:
    """Run a named query and return every row as a dict."""
    with wrap_exceptions(), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query(name), params).fetchall()
