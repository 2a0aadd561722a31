"""Who is looking at a page and what they may change; the login redirect of the pages.

The pages are read-only views for everyone Airflow lets read DAGs; buttons that change
something are shown only to users the auth manager would let do it (the JSON API checks again).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from openfn_airflow.plugin.deps import UserDep
from openfn_airflow.plugin.security import may_edit


@dataclass(frozen=True)
class Access:
    user: str
    may_run: bool  # process / reprocess messages, retry runs
    may_edit: bool  # edit message bodies, manage inbox auth methods, see the inbox URL


def get_access(user: UserDep) -> Access:
    from airflow.api_fastapi.app import get_auth_manager

    may_run = get_auth_manager().is_authorized_dag(
        method="POST", access_entity=DagAccessEntity.RUN, user=user
    )
    return Access(user=user.get_name(), may_run=may_run, may_edit=may_edit(user))


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
