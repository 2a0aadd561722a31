"""The inbox's own statements: find an inbox, and store a message with its dispatch rows.

Every function takes a psycopg connection first; the caller owns the transaction (the inbox uses
autocommit connections, so each statement is its own transaction).
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from openfn_airflow.store.queries import execute, fetch_one


def get_inbox(
    conn: psycopg.Connection[Any], inbox_id: str, client: str = ""
) -> dict[str, Any] | None:
    """Return ``project``, its active ``auth_methods`` (with secrets), or None.

    Also ``requires_auth`` (it takes no request without an active method) and ``client``'s
    failed logins in the current minute: ``failures`` and ``retry_after`` (seconds).
    """
    try:
        parsed = uuid.UUID(inbox_id)
    except ValueError:
        return None
    return fetch_one(conn, "get_inbox", inbox_id=parsed, client=client)


def receive_message(
    conn: psycopg.Connection[Any],
    *,
    project: str,
    body_json: str,
    headers: dict[str, Any],
    method: str,
    path: str,
    query: dict[str, Any] | None,
    content_type: str,
    size_bytes: int,
    idempotency_key: str | None,
    index_now: bool = True,
) -> dict[str, Any]:
    """Store a message and its dispatch rows in one statement; see ``receive_message`` in SQL.

    Returns ``response`` (the new message's answer) or ``previous`` (the first answer to the same
    idempotency key), both None when the key is held by a concurrent or expired message.
    """
    row = fetch_one(
        conn,
        "receive_message",
        project=project,
        body=body_json,
        headers=Jsonb(headers),
        method=method,
        path=path,
        query=None if query is None else Jsonb(query),
        content_type=content_type,
        size_bytes=size_bytes,
        idempotency_key=idempotency_key,
        index_now=index_now,
    )
    assert row is not None
    return row


def expire_idempotency_key(conn: psycopg.Connection[Any], project: str, key: str) -> int:
    """Free a key used more than 24 h ago; return how many messages held it."""
    return execute(conn, "expire_idempotency_key", project=project, idempotency_key=key)
