"""The project settings screen: inbox URL, inbox auth methods, usage and queue."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from openfn_airflow.plugin.deps import ConnDep
from openfn_airflow.plugin.permissions import PermissionsDep
from openfn_airflow.plugin.routers import projects as api
from openfn_airflow.plugin.ui.access import AccessDep, PageRoute
from openfn_airflow.plugin.ui.charts import usage_chart
from openfn_airflow.plugin.ui.projects import project_choice
from openfn_airflow.plugin.ui.rendering import render

router = APIRouter(route_class=PageRoute)


@router.get("/settings", response_class=HTMLResponse)
def settings(
    request: Request,
    conn: ConnDep,
    access: AccessDep,
    perms: PermissionsDep,
    project: str | None = None,
) -> HTMLResponse:
    """Show a project's inbox URL, auth methods, usage and queue."""
    choice = project_choice(conn, project, perms)
    if choice.current is None and choice.names:  # settings are always of one project
        choice = project_choice(conn, choice.names[0], perms)
    listed = {p.name: p for p in api.list_projects(request, conn, perms).items}
    if choice.current is None:
        return render(
            request,
            "settings.html",
            access,
            screen="settings",
            projects=choice,
            project=None,
            listed=list(listed.values()),
        )
    usage = api.get_usage(choice.current, conn, perms)
    listing = api.list_auth_methods(choice.current, conn, perms)
    # Changing this project's inbox needs edit access to every one of its DAGs.
    access = replace(access, may_edit=perms.may_manage(choice.current))
    return render(
        request,
        "settings.html",
        access,
        screen="settings",
        projects=choice,
        project=listed.get(choice.current),
        listed=list(listed.values()),
        methods=listing.items,
        inbox_state=listing.inbox,
        usage=usage,
        chart=usage_chart(usage.days),
    )
