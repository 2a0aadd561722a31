"""Projects and their inbox ids (``openfn_project``).

Every function takes a psycopg connection first; the caller owns the transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from openfn_airflow.store.errors import StoreError
from openfn_airflow.store.queries import fetch_all, fetch_one


def ensure_project(conn: psycopg.Connection[Any], name: str, inbox_id: str | None = None) -> str:
    """Record a project and return its inbox id.

    Without ``inbox_id`` the stored id is kept, or a random one generated and stored the first
    time; with one (the spec's ``inbox.id``), that id is stored. StoreError when it is not a UUID
    or another project has it.
    """
    row = fetch_one(
        conn,
        "ensure_project",
        name=name,
        inbox_id=None if inbox_id is None else _parse_uuid(inbox_id),
        generated_inbox_id=uuid.uuid4(),
    )
    assert row is not None
    return str(row["inbox_id"])


def get_project(conn: psycopg.Connection[Any], name: str) -> dict[str, Any] | None:
    """Return a project (``name``, ``inbox_id`` as text, ``created_at``), or None."""
    return _with_text_inbox_id(fetch_one(conn, "get_project", name=name))


def get_project_by_inbox(conn: psycopg.Connection[Any], inbox_id: str) -> dict[str, Any] | None:
    """Return the project an inbox id belongs to, or None (also for text that is not a UUID)."""
    try:
        parsed = uuid.UUID(inbox_id)
    except ValueError:
        return None
    return _with_text_inbox_id(fetch_one(conn, "get_project_by_inbox", inbox_id=parsed))


def list_projects(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Return every project (``name``, ``inbox_id`` as text, ``created_at``) by name."""
    rows = fetch_all(conn, "list_projects")
    for row in rows:
        row["inbox_id"] = str(row["inbox_id"])
    return rows


def _parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise StoreError(f"inbox id {value!r} is not a UUID (e.g. {uuid.uuid4()})") from None


def _with_text_inbox_id(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is not None:
        row["inbox_id"] = str(row["inbox_id"])
    return row
