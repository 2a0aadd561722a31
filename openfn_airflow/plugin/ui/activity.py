"""The Activity screen: runs newest first with filters, and one run with its log and states."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openfn_airflow.plugin.deps import ConnDep
from openfn_airflow.plugin.models.runs import RunListQuery, RunStatus
from openfn_airflow.plugin.routers import runs as api
from openfn_airflow.plugin.ui.access import AccessDep, PageRoute
from openfn_airflow.plugin.ui.projects import project_choice
from openfn_airflow.plugin.ui.queries import list_context, read_filters
from openfn_airflow.plugin.ui.rendering import error_page, render, urls
from openfn_airflow.store import runs

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

router = APIRouter(route_class=PageRoute)


@router.get("/runs", response_class=HTMLResponse)
def activity(request: Request, conn: ConnDep, access: AccessDep) -> HTMLResponse:
    """Show the runs, newest first."""
    filters, error = read_filters(request, RunListQuery, lists=("status",))
    page = None
    if error is None:
        try:
            page = api.list_runs(filters, conn)
        except HTTPException as exc:
            error = str(exc.detail)
    return render(
        request,
        "activity.html",
        access,
        screen="activity",
        filters=filters,
        error=error,
        page=page,
        projects=project_choice(conn, filters.project),
        statuses=STATUSES,
        failed=FAILED,
        **list_context(filters, page, "after", "before"),
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run(run_id: int, request: Request, conn: ConnDep, access: AccessDep) -> HTMLResponse:
    """Show one run: its log, initial and final state, exit code, and where it ran."""
    try:
        detail = api.get_run(run_id, conn)
    except HTTPException as exc:
        return error_page(request, access, "activity", exc)
    return render(request, "run.html", access, screen="activity", run=detail, failed=FAILED)


@router.get("/dag-runs/{dag_id}/{dag_run_id}", response_class=HTMLResponse)
def dag_run(
    dag_id: str, dag_run_id: str, request: Request, conn: ConnDep, access: AccessDep
) -> Response:
    """Open the OpenFn run of an Airflow DAG run (its tab on Airflow's DAG run page)."""
    found = runs.latest_attempts(conn, dag_id=dag_id, dag_run_id=dag_run_id)
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
