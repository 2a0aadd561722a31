"""The inbox's own statements: find an inbox, and store a message with its dispatch rows.

Every function takes a psycopg connection first; the caller owns the transaction (the inbox uses
autocommit connections, so each statement is its own transaction).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from openfn_airflow.store import attachments, message_search
from openfn_airflow.store.attachments import NewFile
from openfn_airflow.store.filters import MessageFilter
from openfn_airflow.store.queries import execute, fetch_all, fetch_one


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
    files: Sequence[NewFile] = (),
    incomplete: bool = False,
) -> dict[str, Any]:
    """Store a message, its files and its dispatch rows in one statement; see
    ``receive_message`` in SQL. ``incomplete``: no dispatch rows until ``add_submission_part``
    completes it.

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
        incomplete=incomplete,
        **attachments.file_params(files),
    )
    assert row is not None
    return row


@dataclass
class Part:
    """What storing a later part of a split OpenRosa submission did."""

    found: bool  # the message is still there
    same_body: bool = True  # its XML is the one first received
    clashes: list[str] = field(default_factory=list)  # names stored with other bytes
    added: int = 0
    delivered: list[str] | None = None  # the triggers, when this part completed it


def add_submission_part(
    conn: psycopg.Connection[Any],
    *,
    project: str,
    message_id: int,
    body_json: str,
    files: Sequence[NewFile],
    last: bool,
) -> Part:
    """Add a later request of an OpenRosa submission to its message, in one transaction.

    Its files not stored yet are added (a file sent again, the same bytes, is not); a file of a
    stored name with other bytes, or another XML, stores nothing. ``last`` (no *isIncomplete*)
    on a waiting message queues its dispatch rows, as processing it would.
    """
    with conn.transaction():
        target = fetch_one(
            conn, "lock_submission", project=project, message_id=message_id, body=body_json
        )
        if target is None:
            return Part(found=False)
        if not target["same_body"]:
            return Part(found=True, same_body=False)
        stored = {
            row["name"]: row["sha256"]
            for row in fetch_all(conn, "list_attachments", message_id=message_id)
        }
        clashes = [f.name for f in files if f.name in stored and stored[f.name] != _sha256(f)]
        if clashes:
            return Part(found=True, clashes=clashes)
        added = attachments.add_attachments(
            conn, message_id, [f for f in files if f.name not in stored]
        )
        delivered = None
        if last and target["incomplete"]:
            queued = message_search.queue_reprocess(
                conn, MessageFilter(project=project, from_id=message_id, to_id=message_id)
            )
            delivered = sorted({row["trigger"] for row in queued})
            execute(conn, "complete_submission", message_id=message_id, matched=Jsonb(delivered))
    return Part(found=True, added=added, delivered=delivered)


def _sha256(file: NewFile) -> str:
    return hashlib.sha256(file.data).hexdigest()


def expire_idempotency_key(conn: psycopg.Connection[Any], project: str, key: str) -> int:
    """Free a key used more than 24 h ago; return how many messages held it."""
    return execute(conn, "expire_idempotency_key", project=project, idempotency_key=key)
