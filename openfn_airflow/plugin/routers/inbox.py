"""The inbox's HTTP routes: POST messages, GET that an inbox exists, OpenRosa submissions.

Not behind Airflow's authentication: each project's own auth methods guard its inbox
(``inbox/auth_methods.py``). A request is admitted from its headers before its body is read
(``inbox/admission.py``): a wrong or missing credential is answered without reading a byte of
it. The routes are ``async`` only to order those steps; database work runs in FastAPI's
threadpool on short-lived connections from one pool per process, opened at the first request, and
scrypt in a pool of its own.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.concurrency import run_in_threadpool

from openfn_airflow.inbox import admission, auth_methods, ingest, settings
from openfn_airflow.inbox.admission import Admission, StaleConnection
from openfn_airflow.inbox.errors import InboxError
from openfn_airflow.inbox.ingest import Receipt
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
                # A connection PostgreSQL dropped (a restart, a failover) is replaced, not lent:
                # lent, it failed its request with a 503 though the database was back.
                check=ConnectionPool.check_connection,
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


def _with_connection(work: Any) -> Any:
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


def _answer(work: Any) -> Any:
    """``work(conn)``'s result; a refusal (InboxError) or an unavailable database as a Receipt."""
    try:
        return _with_connection(work)
    except InboxError as refused:
        return _refusal(refused)
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


def _refusal(refused: InboxError) -> Receipt:
    return Receipt(refused.status, refused.body(), refused.headers)


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


async def _admit(request: Request, inbox_id: str) -> Admission | Receipt:
    """Check the request's credentials from its headers, before anything reads its body."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    client = request.client.host if request.client else ""
    admitted = await run_in_threadpool(
        _answer,
        lambda conn: admission.admit(conn, inbox_id=inbox_id, headers=headers, client=client),
    )
    if isinstance(admitted, Receipt) or admitted.verdict.password is None:
        return admitted
    try:
        method_id = await auth_methods.verify_password_bounded(admitted.verdict.password)
    except InboxError as busy:
        return _refusal(busy)
    if method_id is not None:  # right: nothing to write
        return dataclasses.replace(admitted, verdict=auth_methods.Verdict(method_id))
    first = admitted
    return await run_in_threadpool(_answer, lambda conn: admission.verified(conn, first, method_id))


async def _receive(request: Request, inbox_id: str, *, openrosa: bool) -> Receipt:
    admitted = await _admit(request, inbox_id)
    if isinstance(admitted, Receipt):
        return admitted
    raw = await _raw_body(request)
    if raw is None:
        return _too_large()
    path = _stored_path(request, inbox_id)
    return await run_in_threadpool(
        _answer,
        lambda conn: ingest.receive(
            conn,
            admitted=admitted,
            method=request.method,
            path=path,
            query=_query(request),
            headers=dict(request.headers),
            raw=raw,
            openrosa=openrosa,
        ),
    )


async def _describe(request: Request, inbox_id: str) -> Receipt:
    admitted = await _admit(request, inbox_id)
    if isinstance(admitted, Receipt):
        return admitted
    return await run_in_threadpool(
        _answer,
        lambda conn: ingest.describe(conn, admitted=admitted, headers=request.headers),
    )


def _stored_path(request: Request, inbox_id: str) -> str:
    """The request's path without the inbox id, a credential of an open inbox that readers of
    the message (and its jobs) need not know: ``/openfn/inbox/{inbox}/submission``."""
    return request.url.path.replace(f"/inbox/{inbox_id}", "/inbox/{inbox}", 1)


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
async def post_message(inbox_id: str, request: Request) -> JSONResponse:
    """Store a message (JSON, form, XML or OpenRosa) and schedule the jobs it matches."""
    return _json(await _receive(request, inbox_id, openrosa=False))


@router.get("/inbox/{inbox_id}")
async def get_inbox(inbox_id: str, request: Request) -> JSONResponse:
    """Tell whether the inbox exists (nothing else)."""
    return _json(await _describe(request, inbox_id))


@router.head("/inbox/{inbox_id}/submission", status_code=204)
async def head_submission(inbox_id: str, request: Request) -> Response:
    """OpenRosa: answer the HEAD request ODK Collect sends before a submission."""
    receipt = await _describe(request, inbox_id)
    headers = {
        **OPENROSA_HEADERS,
        "X-OpenRosa-Accept-Content-Length": str(settings.openrosa_accept_bytes()),
        **receipt.headers,
    }
    status = 204 if receipt.status_code == 200 else receipt.status_code
    return Response(status_code=status, headers=headers)


@router.post("/inbox/{inbox_id}/submission", status_code=201)
async def post_submission(inbox_id: str, request: Request) -> Response:
    """OpenRosa: store a form submission (multipart with ``xml_submission_file``) and its files."""
    receipt = await _receive(request, inbox_id, openrosa=True)
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
async def post_message_to_path(inbox_id: str, extra_path: str, request: Request) -> JSONResponse:
    """Store a message sent to a path under the inbox (the path is kept with the message)."""
    return _json(await _receive(request, inbox_id, openrosa=False))
