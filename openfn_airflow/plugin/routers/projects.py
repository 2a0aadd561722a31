"""Projects: the list (with inbox URLs for editors), usage and queue, and inbox auth methods."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from airflow.api_fastapi.logging.decorators import action_logging
from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status

from openfn_airflow.plugin.deps import ConnDep
from openfn_airflow.plugin.models.common import MAX_ID, utcnow
from openfn_airflow.plugin.models.projects import (
    AuthMethod,
    AuthMethodList,
    CreatedAuthMethod,
    DayUsage,
    MonthPace,
    NewAuthMethod,
    OpenedInbox,
    Project,
    ProjectList,
    ProjectUsage,
    Queue,
    RevokedAuthMethod,
)
from openfn_airflow.plugin.permissions import PermissionsDep
from openfn_airflow.plugin.security import require_edit
from openfn_airflow.store import auth_methods, projects, usage

USAGE_DAYS = 365  # the last 12 months, today included

router = APIRouter(tags=["projects"])

# PostgreSQL cannot compare text holding a NUL, nor a bigint with a bigger number: refused (422).
ProjectName = Annotated[str, Path(pattern="^[^\x00]+$")]
MethodId = Annotated[int, Path(ge=1, le=MAX_ID)]


def inbox_url(request: Request, inbox_id: str) -> str:
    """The public URL of an inbox, as seen by the caller (``[api] base_url`` when set)."""
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="") or str(request.base_url)
    return f"{base.rstrip('/')}/openfn/inbox/{inbox_id}"


@router.get("/projects")
def list_projects(request: Request, conn: ConnDep, perms: PermissionsDep) -> ProjectList:
    """List the projects the caller may see; inbox URLs only for those who may manage them."""
    return ProjectList(
        items=[
            Project(
                name=row["name"],
                created_at=row["created_at"],
                inbox_url=inbox_url(request, row["inbox_id"])
                if perms.may_manage(row["name"])
                else None,
            )
            for row in projects.list_projects(conn)
            if perms.sees_project(row["name"])
        ]
    )


@router.get("/projects/{name}/usage")
def get_usage(name: ProjectName, conn: ConnDep, perms: PermissionsDep) -> ProjectUsage:
    """Show a project's runs per day by status over the last 12 months, the month's pace, and its queue."""
    from airflow.utils.session import create_session

    from openfn_airflow.airflow_db.dag_runs import dag_runs_in_flight

    perms.project(name)
    _existing_project(conn, name)
    today = utcnow().date()
    first = today - dt.timedelta(days=USAGE_DAYS - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    per_day = usage.runs_per_day(conn, name, since)
    unfinished = usage.unfinished_runs(conn, name)
    undispatched = usage.undispatched(conn, name)
    with create_session() as session:
        dag_runs = dag_runs_in_flight(session, perms.project_dags(name))
    days = [first + dt.timedelta(days=offset) for offset in range(USAGE_DAYS)]
    totals = {day: sum(counts.values()) for day, counts in per_day.items()}
    return ProjectUsage(
        project=name,
        since=first,
        days=[
            DayUsage(day=day, total=totals.get(day, 0), runs=per_day.get(day, {})) for day in days
        ],
        pace=month_pace(totals, utcnow()),
        queue=Queue(
            pending_runs=unfinished["pending"],
            running_runs=unfinished["running"],
            dag_runs_queued=dag_runs["queued"],
            dag_runs_running=dag_runs["running"],
            undispatched=undispatched,
        ),
    )


def month_pace(totals: dict[dt.date, int], now: dt.datetime) -> MonthPace:
    """This month's runs so far and at that pace by its end, against the whole previous month."""
    month_start = now.date().replace(day=1)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    previous_start = (month_start - dt.timedelta(days=1)).replace(day=1)
    so_far = sum(n for day, n in totals.items() if month_start <= day < next_month)
    previous = sum(n for day, n in totals.items() if previous_start <= day < month_start)
    started = dt.datetime.combine(month_start, dt.time(), tzinfo=dt.UTC)
    length = (next_month - month_start).total_seconds()
    # At least an hour elapsed: a month's first minutes would project a handful of runs to
    # tens of thousands.
    elapsed = max((now - started).total_seconds(), 3600.0)
    projected = round(so_far * length / elapsed) if so_far else 0
    return MonthPace(
        month=month_start.strftime("%Y-%m"),
        runs_so_far=so_far,
        projected=projected,
        previous_month=previous_start.strftime("%Y-%m"),
        previous_month_runs=previous,
        ratio=round(projected / previous, 2) if previous else None,
    )


def _existing_project(conn: Any, name: str) -> dict[str, Any]:
    project = projects.get_project(conn, name)
    if project is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Project {name!r} not found")
    return project


@router.get("/projects/{name}/auth-methods")
def list_auth_methods(name: ProjectName, conn: ConnDep, perms: PermissionsDep) -> AuthMethodList:
    """List the inbox's auth methods, revoked ones included, never with their secrets."""
    perms.project(name)
    _existing_project(conn, name)
    return AuthMethodList(
        items=[AuthMethod(**row) for row in auth_methods.list_auth_methods(conn, name)],
        inbox=auth_methods.inbox_state(conn, name) or "open",
    )


@router.post(
    "/projects/{name}/auth-methods",
    status_code=status.HTTP_201_CREATED,
    dependencies=[*require_edit, Depends(action_logging("openfn.add_auth_method"))],
)
def add_auth_method(
    name: ProjectName,
    new: NewAuthMethod,
    conn: ConnDep,
    response: Response,
    perms: PermissionsDep,
) -> CreatedAuthMethod:
    """Add an API key, basic-auth user or webhook signing secret; the secret is shown once."""
    from openfn_airflow.inbox import auth_methods as inbox_auth

    perms.require_manage(name)
    _existing_project(conn, name)
    if new.kind != "basic" and (new.username or new.password):
        raise _unprocessable("username and password are for basic auth only")
    try:
        if new.kind == "api_key":
            method, secret = inbox_auth.add_api_key(conn, name)
        elif new.kind == "basic":
            method, secret = inbox_auth.add_basic(conn, name, new.username or "", new.password)
        else:
            method, secret = inbox_auth.add_webhook(conn, name)
    except ValueError as exc:
        raise _unprocessable(str(exc)) from None
    conn.commit()
    response.headers["Cache-Control"] = "no-store"
    return CreatedAuthMethod(method=AuthMethod(**method), secret=secret)


def _unprocessable(message: str) -> HTTPException:
    """A 422 shaped as FastAPI's own validation errors, the shape every 422 is documented with."""
    error = {"type": "value_error", "loc": ["body"], "msg": message}
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [error])


@router.delete(
    "/projects/{name}/auth-methods/{method_id}",
    dependencies=[*require_edit, Depends(action_logging("openfn.revoke_auth_method"))],
)
def revoke_auth_method(
    name: ProjectName, method_id: MethodId, conn: ConnDep, perms: PermissionsDep
) -> RevokedAuthMethod:
    """Revoke a method: requests carrying it are refused from now on.

    Revoking the last one leaves the inbox closed (it refuses every request) until a method is
    added or someone opens it: ``POST /projects/{name}/inbox/open``.
    """
    perms.require_manage(name)
    _existing_project(conn, name)
    if not auth_methods.revoke_auth_method(conn, name, method_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"Project {name!r} has no active auth method {method_id}"
        )
    conn.commit()
    state = auth_methods.inbox_state(conn, name) or "open"
    message = (
        "the inbox stays closed: it refuses every request until a method is added, or until "
        f"someone opens it to anyone with its URL (POST /openfn/api/v1/projects/{name}/inbox/open "
        f"or `openfn-airflow auth open {name}`)"
        if state == "closed"
        else "requests need one of the inbox's active methods"
    )
    return RevokedAuthMethod(id=method_id, inbox=state, message=message)


@router.post(
    "/projects/{name}/inbox/open",
    dependencies=[*require_edit, Depends(action_logging("openfn.open_inbox"))],
    responses={409: {"description": "The inbox has active auth methods: revoke them first."}},
)
def open_inbox(name: ProjectName, conn: ConnDep, perms: PermissionsDep) -> OpenedInbox:
    """Open an inbox whose methods were all revoked: anyone with its URL can send again."""
    perms.require_manage(name)
    _existing_project(conn, name)
    if not auth_methods.open_inbox(conn, name):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"the inbox of {name!r} has active auth methods, which would still be checked: "
            "revoke them first",
        )
    conn.commit()
    return OpenedInbox(
        project=name, inbox="open", message="the inbox is open: anyone with its URL can send"
    )
