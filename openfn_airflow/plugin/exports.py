"""CSV downloads: a streamed response over a store export, on a connection of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
from fastapi.responses import StreamingResponse

from openfn_airflow.plugin.models.common import utcnow
from openfn_airflow.store.database import connect

F = TypeVar("F")


def csv_download(
    export: Callable[[psycopg.Connection[Any], F], Iterator[bytes]], where: F, name: str
) -> StreamingResponse:
    """Stream ``export(conn, where)`` as ``<name>-<UTC time>.csv``.

    The first block (the header row) is read before the response starts, so a database that is
    down or a failing query still gets a proper error status instead of a cut download.
    """
    conn = connect()
    try:
        blocks = export(conn, where)
        first = next(blocks, b"")
    except BaseException:
        conn.close()
        raise

    def body() -> Iterator[bytes]:
        try:
            yield first
            yield from blocks
        finally:
            conn.close()

    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'},
    )
