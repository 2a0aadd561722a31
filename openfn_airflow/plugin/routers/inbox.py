"""The inbox's HTTP routes: POST messages, GET that an inbox exists, OpenRosa submissions.

Not behind Airflow's authentication: each project's own auth methods guard its inbox
(``inbox/auth_methods.py``). Routes are plain ``def`` (FastAPI runs them in its threadpool) on
short-lived connections from one pool per process, opened at the first request.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from openfn_airflow.inbox import ingest, settings
from openfn_airflow.inbox.ingest import Receipt, StaleConnection
from openfn_airflow.store.database import connection_conninfo
from openfn_airflow.store.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

router = APIRouter(tags=["inbox"])

RETRY_AFTER_SECONDS = 5
POOL_MAX_SIZE = 16
POOL_TIMEOUT_SECONDS = 5.0
POOL_CONNECT_TIMEOUT_SECONDS = 5
OPENROSA_HEADERS = {"X-OpenRosa-Version": "1.0"}

_pool: ConnectionPool | None = None
_pool_lock = threading.Lock()


def get_pool() -> ConnectionPool:
    """Return this process's pool of autocommit connections, opening it the first time."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ConnectionPool(
                connection_conninfo(connect_timeout=POOL_CONNECT_TIMEOUT_SECONDS),
                min_size=1,
                max_size=POOL_MAX_SIZE,
                kwargs={"autocommit": True, "row_factory": dict_row},
                timeout=POOL_TIMEOUT_SECONDS,
                name="openfn-inbox",
                open=True,
            )
        return _pool


def close_pool() -> None:
    """Close the pool (at shutdown, or in tests); the next request opens a new one."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None


async def _raw_body(request: Request) -> bytes | None:
    """Read the body, or None as soon as it is over the size limit (answered 413, unread)."""
    limit = settings.max_body_bytes()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


RawBody = Annotated[bytes | None, Depends(_raw_body)]


def _with_connection(work: Any) -> Receipt:
    # Pooled connections the server closed since (restart, idle timeout) fail on the first
    # statement, a read: the pool drops its dead connections and the request is tried once more.
    # Writes are never retried.
    for attempt in (1, 2):
        try:
            with get_pool().connection() as conn:
                return work(conn)
        except StaleConnection:
            if attempt == 2:
                raise
            get_pool().check()
        except PoolTimeout as exc:
            raise DatabaseUnavailable(f"no database connection: {exc}") from exc
    raise AssertionError("unreachable")


def _answer(work: Any) -> Receipt:
    try:
        return _with_connection(work)
    except DatabaseUnavailable as exc:
        log.warning("Inbox request refused, the database is unavailable: %s", exc)
        return Receipt(
            503,
            {
                "error": "service_unavailable",
                "message": "the database is unavailable; nothing was stored, retry later",
                "retry_after": RETRY_AFTER_SECONDS,
            },
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def _too_large() -> Receipt:
    return Receipt(
        413,
        {
            "error": "payload_too_large",
            "message": f"the body is larger than {settings.max_body_bytes()} bytes "
            "([openfn] inbox_max_body_bytes)",
        },
    )


def _json(receipt: Receipt) -> JSONResponse:
    return JSONResponse(receipt.body, status_code=receipt.status_code, headers=receipt.headers)


def _receive(request: Request, inbox_id: str, raw: bytes | None, *, openrosa: bool) -> Receipt:
    if raw is None:
        return _too_large()
    return _answer(
        lambda conn: ingest.receive(
            conn,
            inbox_id=inbox_id,
            method=request.method,
            path=request.url.path,
            query=_query(request),
            headers=dict(request.headers),
            raw=raw,
            openrosa=openrosa,
        )
    )


def _query(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        if name not in params:
            params[name] = value
        elif isinstance(params[name], list):
            params[name].append(value)
        else:
            params[name] = [params[name], value]
    return params


@router.post("/inbox/{inbox_id}", status_code=202)
def post_message(inbox_id: str, request: Request, raw: RawBody) -> JSONResponse:
    """Store a message (JSON, form, XML or OpenRosa) and schedule the jobs it matches."""
    return _json(_receive(request, inbox_id, raw, openrosa=False))


@router.get("/inbox/{inbox_id}")
def get_inbox(inbox_id: str, request: Request) -> JSONResponse:
    """Tell whether the inbox exists (nothing else)."""
    return _json(
        _answer(lambda conn: ingest.describe(conn, inbox_id=inbox_id, headers=request.headers))
    )


@router.head("/inbox/{inbox_id}/submission", status_code=204)
def head_submission(inbox_id: str, request: Request) -> Response:
    """OpenRosa: answer the HEAD request ODK Collect sends before a submission."""
    receipt = _answer(
        lambda conn: ingest.describe(conn, inbox_id=inbox_id, headers=request.headers)
    )
    headers = {
        **OPENROSA_HEADERS,
        "X-OpenRosa-Accept-Content-Length": str(settings.max_body_bytes()),
        **receipt.headers,
    }
    status = 204 if receipt.status_code == 200 else receipt.status_code
    return Response(status_code=status, headers=headers)


@router.post("/inbox/{inbox_id}/submission", status_code=201)
def post_submission(inbox_id: str, request: Request, raw: RawBody) -> Response:
    """OpenRosa: store a form submission (multipart with ``xml_submission_file``)."""
    receipt = _receive(request, inbox_id, raw, openrosa=True)
    if receipt.status_code == 201:
        text = f"Form received (message {receipt.body['message_id']})."
        nature = "submit_success"
    else:
        text = str(receipt.body.get("message") or receipt.body.get("error"))
        nature = "submit_error"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OpenRosaResponse xmlns="http://openrosa.org/http/response">'
        f'<message nature="{nature}">{escape(text)}</message></OpenRosaResponse>'
    )
    return Response(
        xml,
        status_code=receipt.status_code,
        media_type="text/xml; charset=utf-8",
        headers={**OPENROSA_HEADERS, **receipt.headers},
    )


@router.post("/inbox/{inbox_id}/{extra_path:path}", status_code=202)
def post_message_to_path(
    inbox_id: str, extra_path: str, request: Request, raw: RawBody
) -> JSONResponse:
    """Store a message sent to a path under the inbox (the path is kept with the message)."""
    return _json(_receive(request, inbox_id, raw, openrosa=False))
