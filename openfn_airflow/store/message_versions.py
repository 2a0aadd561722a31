"""Edits of message bodies (``openfn_message_version``): every edit keeps the body it replaced.

Every function takes a psycopg connection first; the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from openfn_airflow.store.queries import fetch_all, fetch_one


def edit_body(
    conn: psycopg.Connection, message_id: int, body: Any, *, changed_by: str
) -> int | None:
    """Replace a message's body, keeping the old one as a version; return the version's id.

    None when nothing changed (the same body, or no such message). The search vector is
    recomputed with the body, so the message is found by its new text at once.
    """
    row = fetch_one(
        conn, "edit_message_body", message_id=message_id, body=Jsonb(body), changed_by=changed_by
    )
    return None if row is None else row["version_id"]


def list_versions(conn: psycopg.Connection, message_id: int) -> list[dict[str, Any]]:
    """Return the bodies a message had before its edits, newest first, with who and when."""
    return fetch_all(conn, "list_message_versions", message_id=message_id)
