"""Messages received by the inbox (``openfn_message``).

Every function takes a psycopg connection first; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from openfn_airflow.store.queries import fetch_all, fetch_one


def insert_message(
    conn: psycopg.Connection,
    *,
    project: str,
    body: Any,
    headers: dict[str, Any] | None = None,
    method: str | None = "POST",
    path: str | None = None,
    query: dict[str, Any] | None = None,
) -> int:
    """Store a message (any JSON value as body) and return its id."""
    row = fetch_one(
        conn,
        "insert_message",
        project=project,
        body=Jsonb(body),
        headers=Jsonb(headers or {}),
        method=method,
        path=path,
        query=None if query is None else Jsonb(query),
    )
    assert row is not None
    return row["id"]


def get_message(conn: psycopg.Connection, message_id: int) -> dict[str, Any] | None:
    """Return a message, or None."""
    return fetch_one(conn, "get_message", message_id=message_id)


def get_messages(conn: psycopg.Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Return the messages with these ids in the order given; ids with no message are left out."""
    return fetch_all(conn, "get_messages", ids=list(ids))
