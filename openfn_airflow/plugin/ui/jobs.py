"""The Jobs screen: every job with its trigger, on/off, flags and last run; run a cron job now."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from openfn_airflow.plugin.deps import ConnDep
from openfn_airflow.plugin.models.common import utcnow
from openfn_airflow.plugin.models.messages import MessageQuery
from openfn_airflow.plugin.permissions import PermissionsDep
from openfn_airflow.plugin.routers import jobs as api
from openfn_airflow.plugin.ui.access import AccessDep, PageRoute
from openfn_airflow.plugin.ui.projects import project_choice
from openfn_airflow.plugin.ui.queries import query_string, read_filters
from openfn_airflow.plugin.ui.rendering import render

router = APIRouter(route_class=PageRoute)

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def until(when: dt.datetime, now: dt.datetime) -> str:
    """How long until ``when``, in words: "in 3 minutes", "in 2 days"."""
    seconds = max(0, round((when - now).total_seconds()))
    for unit, size in _UNITS:
        if seconds >= size or unit == "second":
            count = round(seconds / size)
            return f"in {count} {unit}{'' if count == 1 else 's'}"
    return ""


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def matching_messages_query(job: api.Job) -> str:
    """The Inbox's query string of the messages matching the job's message filter now."""
    return query_string(
        MessageQuery.model_validate({"project": job.project, "trigger": job.trigger.name})
    )


@router.get("/jobs", response_class=HTMLResponse)
def jobs(request: Request, conn: ConnDep, access: AccessDep, perms: PermissionsDep) -> HTMLResponse:
    """Show the jobs, by project and name."""
    filters, error = read_filters(request, api.JobQuery)
    listed = api.list_jobs(filters, conn, perms) if error is None else None
    choice = project_choice(conn, filters.project, perms)
    return render(
        request,
        "jobs.html",
        access,
        screen="jobs",
        filters=filters,
        error=error,
        listed=listed,
        projects=choice,
        now=utcnow(),
        until=until,
        compact_json=compact_json,
        matching_messages_query=matching_messages_query,
    )
