"""Who is looking at a page and what they may change; the login redirect of the pages.

The pages show what the user may see (plugin/permissions.py); buttons that change something
are enabled only for users the auth manager would let do it (the JSON API checks again, on
the objects the action touches).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from openfn_airflow.plugin.permissions import PermissionsDep


@dataclass(frozen=True)
class Access:
    user: str
    may_run: bool  # process / reprocess messages, retry runs (of some job the user sees)
    may_edit: bool  # on the settings screen: manage this project's inbox; elsewhere: some DAG
    runnable: frozenset[str] = frozenset()  # the visible DAGs the user may start runs of
    editable: frozenset[str] = frozenset()  # the visible DAGs the user may change (pause)


def get_access(perms: PermissionsDep) -> Access:
    visible = {perms.dags[key] for key in perms.readable}
    runnable = frozenset(visible - set(perms.forbidden(visible)))
    editable = frozenset(visible - set(perms.forbidden(visible, "PUT", None)))
    return Access(
        user=perms.user.get_name(),
        may_run=bool(runnable),
        may_edit=bool(editable),
        runnable=runnable,
        editable=editable,
    )


AccessDep = Annotated[Access, Depends(get_access)]


def login_url(request: Request) -> str:
    """Airflow's login page, coming back to this page after."""
    from airflow.api_fastapi.app import get_auth_manager

    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return get_auth_manager().get_url_login(next_url=here)


class PageRoute(APIRoute):
    """A page route: a visitor who is not logged in (or whose login expired) goes to log in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code == status.HTTP_401_UNAUTHORIZED:
                    return RedirectResponse(login_url(request), status.HTTP_303_SEE_OTHER)
                raise

        return page_handler
