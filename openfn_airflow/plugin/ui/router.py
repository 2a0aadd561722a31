"""The ``/ui`` router: the screens, their static files, and ``/ui/`` sending to the inbox.

Everything here needs the same access as the JSON API (reading DAGs); a visitor who is not
logged in is sent to Airflow's login page.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from openfn_airflow.plugin.security import require_read
from openfn_airflow.plugin.ui import activity, inbox, jobs, settings
from openfn_airflow.plugin.ui.access import PageRoute
from openfn_airflow.plugin.ui.rendering import UI_PACKAGE

STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
STATIC_MAX_AGE = 7 * 24 * 3600  # URLs carry the files' digest: a new version is a new URL


def create_ui_router() -> APIRouter:
    ui = APIRouter(
        prefix="/ui", dependencies=[require_read], route_class=PageRoute, include_in_schema=False
    )

    @ui.get("/")
    def index(request: Request) -> RedirectResponse:
        """Open the inbox."""
        return RedirectResponse(f"{request.scope.get('root_path', '')}/ui/inbox", 303)

    @ui.get("/static/{name}")
    def static(name: str) -> Response:
        """Serve a stylesheet, script or icon of the pages."""
        kind = STATIC_TYPES.get(name[name.rfind(".") :]) if "." in name else None
        entry = resources.files(UI_PACKAGE).joinpath("static", name)
        if kind is None or "/" in name or not entry.is_file():
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not found")
        return Response(
            entry.read_bytes(),
            media_type=kind,
            headers={"Cache-Control": f"private, max-age={STATIC_MAX_AGE}"},
        )

    ui.include_router(inbox.router)
    ui.include_router(activity.router)
    ui.include_router(jobs.router)
    ui.include_router(settings.router)
    return ui
