"""Inbox auth methods (``openfn_auth_method``): what a request to a project's inbox must carry.

Secrets never leave this table in listings. Every function takes a psycopg connection first; the
caller owns the transaction.
"""

from __future__ import annotations

from typing import Any, Literal, cast

import psycopg

from openfn_airflow.store.queries import execute, fetch_all, fetch_one

KINDS = ("api_key", "basic", "webhook")
InboxState = Literal["open", "protected", "closed"]


def add_auth_method(
    conn: psycopg.Connection[Any],
    *,
    project: str,
    kind: str,
    secret_hint: str,
    username: str | None = None,
    secret_hash: str | None = None,
    secret_encrypted: str | None = None,
) -> dict[str, Any]:
    """Store a method (its secret already hashed or encrypted) and return it without secrets."""
    row = fetch_one(
        conn,
        "add_auth_method",
        project=project,
        kind=kind,
        username=username,
        secret_hash=secret_hash,
        secret_encrypted=secret_encrypted,
        secret_hint=secret_hint,
    )
    assert row is not None
    return row


def list_auth_methods(
    conn: psycopg.Connection[Any], project: str, *, include_revoked: bool = True
) -> list[dict[str, Any]]:
    """Return the project's methods, oldest first, without their secrets."""
    return fetch_all(conn, "list_auth_methods", project=project, include_revoked=include_revoked)


def revoke_auth_method(conn: psycopg.Connection[Any], project: str, method_id: int) -> bool:
    """Revoke a method at once; False when the project has no such active method."""
    return fetch_one(conn, "revoke_auth_method", project=project, method_id=method_id) is not None


def inbox_state(conn: psycopg.Connection[Any], project: str) -> InboxState | None:
    """Return ``open``, ``protected`` (an active method) or ``closed``; None: no such project."""
    row = fetch_one(conn, "get_inbox_state", project=project)
    return None if row is None else cast(InboxState, row["state"])


def open_inbox(conn: psycopg.Connection[Any], project: str) -> bool:
    """Let the inbox take requests without credentials; False while it has an active method."""
    return fetch_one(conn, "open_inbox", project=project) is not None


def record_auth_failure(conn: psycopg.Connection[Any], project: str, client: str) -> dict[str, Any]:
    """Count a failed login; return the minute's ``failures`` and ``retry_after`` (seconds)."""
    row = fetch_one(conn, "record_auth_failure", project=project, client=client)
    assert row is not None
    return row


def touch_auth_method(conn: psycopg.Connection[Any], method_id: int) -> None:
    """Record that a method was used (at most once a minute is written)."""
    execute(conn, "touch_auth_method", method_id=method_id)


def get_active_auth_methods(conn: psycopg.Connection[Any], project: str) -> list[dict[str, Any]]:
    """Return the project's active methods with their hashed or encrypted secrets."""
    return fetch_all(conn, "get_active_auth_methods", project=project)
