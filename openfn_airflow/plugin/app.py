"""The FastAPI app Airflow's api-server mounts at ``/openfn``: the inbox and the JSON API.

``create_app()`` only builds the app object and includes the routers: no database, no
configuration read. The dispatcher (inbox outbox -> asset events) starts and stops with each
api-server process, through the app's lifespan, which Airflow's own lifespan enters.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openfn_airflow.inbox.dispatcher import start_dispatcher
from openfn_airflow.plugin.routers import (
    attachments,
    github,
    health,
    inbox,
    jobs,
    messages,
    projects,
    runs,
)
from openfn_airflow.plugin.security import require_read
from openfn_airflow.plugin.ui.router import create_ui_router
from openfn_airflow.store.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
RETRY_AFTER_SECONDS = 5


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    with start_dispatcher():
        yield


class InternalErrors:
    """Answer an unexpected error with an id only; the traceback goes to the log under that id.

    When the response had already started (a CSV export failing mid-stream), the error is raised
    again so the server cuts the connection and the client sees an incomplete download.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            error_id = secrets.token_hex(8)
            log.exception("Internal error %s on %s %s", error_id, scope["method"], scope["path"])
            if started:
                raise
            response = JSONResponse({"error": "internal_error", "id": error_id}, status_code=500)
            await response(scope, receive, send)


class RefuseNulPaths:
    """Answer 404 to a path holding NUL: nothing here is named with one (PostgreSQL refuses it
    in text). Before any route runs, because Airflow's own access check reads a ``{dag_id}``
    path parameter from the database before route validation could refuse it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope["path"]:
            await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("Database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"error": "database_unavailable", "detail": "The database is unavailable; retry later."},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422, leaving out an echoed input that cannot be written as JSON.

    FastAPI's handler echoes each invalid input and answered 500 instead when one held NaN or
    infinity (``{"kind": 1e999}``), an unpaired surrogate (``"\\ud800"``) or was nested too
    deeply to encode.
    """
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        try:
            encoded = jsonable_encoder(error)
            json.dumps(encoded, allow_nan=False, ensure_ascii=False).encode()  # as rendered
        except (ValueError, TypeError, RecursionError):
            encoded = jsonable_encoder(
                {key: value for key, value in error.items() if key != "input"}
            )
        errors.append(encoded)
    return JSONResponse({"detail": errors}, status_code=422)


def create_app() -> FastAPI:
    """Build the plugin's FastAPI app; its own docs are off (the schema is served authenticated)."""
    app = FastAPI(
        title="OpenFn on Airflow",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(InternalErrors)
    app.add_middleware(RefuseNulPaths)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(RequestValidationError, _invalid_request)

    app.include_router(inbox.router)
    app.include_router(github.router)
    # Public, as Airflow's /api/v2/monitor/health: only the canary's timings and status.
    app.include_router(health.router)
    api = APIRouter(prefix=API_PREFIX, dependencies=[require_read])
    api.include_router(messages.router)
    api.include_router(attachments.router)
    api.include_router(runs.router)
    api.include_router(projects.router)
    api.include_router(jobs.router)

    @api.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        """Return the OpenAPI schema of the plugin's routes."""
        return app.openapi()

    app.include_router(api)
    app.include_router(create_ui_router())
    return app
