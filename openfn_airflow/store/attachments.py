"""The files of multipart messages (``openfn_attachment``): an ODK submission's photos and the like.

A message's files go with it (ON DELETE CASCADE; retention counts them). Only ``get_attachment``
reads the bytes. Every function takes a psycopg connection first; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import psycopg

from openfn_airflow.store.queries import fetch_all, fetch_one


class NewFile(Protocol):
    """A file to store (``inbox.multipart.Attachment`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def field(self) -> str | None: ...

    @property
    def content_type(self) -> str: ...

    @property
    def data(self) -> bytes: ...


def file_params(files: Sequence[NewFile]) -> dict[str, list[Any]]:
    """The ``att_*`` arrays of ``insert_attachments``."""
    return {
        "att_names": [f.name for f in files],
        "att_fields": [f.field for f in files],
        "att_types": [f.content_type for f in files],
        "att_data": [f.data for f in files],
    }


def add_attachments(conn: psycopg.Connection, message_id: int, files: Sequence[NewFile]) -> int:
    """Store files of a message after those it has; return how many. Names must be new to it."""
    if not files:
        return 0
    row = fetch_one(conn, "add_attachments", message_id=message_id, **file_params(files))
    assert row is not None
    return int(row["added"])


def list_attachments(conn: psycopg.Connection, message_id: int) -> list[dict[str, Any]]:
    """A message's files in the order received: position, name, field, content_type, size,
    sha256 (hex); never the bytes."""
    return fetch_all(conn, "list_attachments", message_id=message_id)


def get_attachment(
    conn: psycopg.Connection, message_id: int, *, position: int | None = None, name: str = ""
) -> dict[str, Any] | None:
    """One file of a message with its bytes (``data``), by position or name; None when none."""
    return fetch_one(conn, "get_attachment", message_id=message_id, position=position, name=name)
