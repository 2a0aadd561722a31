"""The Activity screen: runs newest first with filters, and one run with its log and states."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openfn_airflow.plugin.deps import ConnDep
from openfn_airflow.plugin.models.common import PathId, PathText, utcnow
from openfn_airflow.plugin.models.runs import RunListQuery, RunStatus
from openfn_airflow.plugin.permissions import Permissions, PermissionsDep
from openfn_airflow.plugin.routers import runs as api
from openfn_airflow.plugin.ui.access import AccessDep, PageRoute
from openfn_airflow.plugin.ui.paging import PageNumber, go_to_page
from openfn_airflow.plugin.ui.projects import project_choice
from openfn_airflow.plugin.ui.queries import (
    PAGING,
    id_range_filters,
    list_context,
    query_pairs,
    read_filters,
)
from openfn_airflow.plugin.ui.rendering import error_page, render, urls
from openfn_airflow.store import message_versions, run_search, runs
from openfn_airflow.store.filters import COUNT_BUDGET_MS

STATUSES: tuple[RunStatus, ...] = (
    "success",
    "failed",
    "killed",
    "crashed",
    "lost",
    "running",
    "pending",
)
FAILED = frozenset({"failed", "killed", "crashed", "lost"})
# The filters a bulk retry of an id range keeps, as its form names them.
RANGE_LABELS = {
    "project": "project",
    "job": "job",
    "status": "status",
    "q": "log contains",
    "message_id": "of message",
}

router = APIRouter(route_class=PageRoute)


class ActivityQuery(RunListQuery, PageNumber):
    """The Activity's query string: the API's list parameters and the page number."""


def _go_to_page(
    filters: ActivityQuery, conn: Any, perms: Permissions
) -> tuple[ActivityQuery, str | None]:
    where = perms.runs(filters.to_filter(utcnow()))
    return go_to_page(
        filters,
        "run",
        lambda position: run_search.find_run_at(conn, where, position, budget_ms=COUNT_BUDGET_MS),
        lambda: run_search.count_runs(conn, where, budget_ms=COUNT_BUDGET_MS),
    )


@router.get("/runs", response_class=HTMLResponse)
def activity(
    request: Request, conn: ConnDep, access: AccessDep, perms: PermissionsDep
) -> HTMLResponse:
    """Show the runs, newest first."""
    times = ("after", "before")
    filters, error = read_filters(request, ActivityQuery, lists=("status",), times=times)
    notice = page = None
    if error is None:
        filters, notice = _go_to_page(filters, conn, perms)
        try:
            page = api.list_runs(filters, conn, perms)
        except HTTPException as exc:
            error = str(exc.detail)
    context = list_context(filters, page, *times)
    id_range, id_range_terms = id_range_filters(context["bulk"], *times, RANGE_LABELS)
    return render(
        request,
        "activity.html",
        access,
        screen="activity",
        filters=filters,
        error=error,
        notice=notice,
        page=page,
        projects=project_choice(conn, filters.project, perms),
        statuses=STATUSES,
        failed=FAILED,
        id_range=id_range,
        id_range_terms=id_range_terms,
        # The export is a form (its "With logs" box), so the filters go in as hidden fields.
        export_pairs=query_pairs(filters, drop=PAGING),
        **context,
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run(
    run_id: PathId, request: Request, conn: ConnDep, access: AccessDep, perms: PermissionsDep
) -> HTMLResponse:
    """Show one run: its log, initial and final state, exit code, and where it ran."""
    try:
        detail = api.get_run(run_id, conn, perms)
    except HTTPException as exc:
        return error_page(request, access, "activity", exc)
    older_id, newer_id = run_search.find_neighbours(
        conn, run_id, detail.project, perms.visible_jobs
    )
    # Retry offers "with the message as it is now" when the message was edited after the run.
    versions = message_versions.list_versions(conn, detail.message_id) if detail.message_id else []
    edited = bool(versions) and versions[0]["changed_at"] > detail.created_at
    return render(
        request,
        "run.html",
        access,
        screen="activity",
        run=detail,
        failed=FAILED,
        older_id=older_id,
        newer_id=newer_id,
        searchable_up_to=run_search.searchable_up_to(conn, run_id),
        message_edited=edited,
    )


@router.get("/dag-runs/{dag_id}/{dag_run_id}", response_class=HTMLResponse)
def dag_run(
    dag_id: PathText,
    dag_run_id: PathText,
    request: Request,
    conn: ConnDep,
    access: AccessDep,
    perms: PermissionsDep,
) -> Response:
    """Open the OpenFn run of an Airflow DAG run (its tab on Airflow's DAG run page)."""
    found = (
        runs.latest_attempts(conn, dag_id=dag_id, dag_run_id=dag_run_id)
        if perms.sees_dag(dag_id)
        else []
    )
    if len(found) == 1:
        return RedirectResponse(f"{urls(request)['ui']}/runs/{found[0]['id']}", 303)
    return render(
        request,
        "dag_run.html",
        access,
        screen="activity",
        dag_id=dag_id,
        dag_run_id=dag_run_id,
        runs=found,
    )
