"""The run history: list, one run, bulk retry, CSV export."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from airflow.api_fastapi.logging.decorators import action_logging
from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse

from openfn_airflow.plugin.deps import ConnDep, UserDep
from openfn_airflow.plugin.exports import csv_download
from openfn_airflow.plugin.models.common import Page, PathId, counted, single_values, utcnow
from openfn_airflow.plugin.models.runs import (
    RetriedRun,
    RetryRequest,
    RetryResult,
    RunDetail,
    RunExportQuery,
    RunListQuery,
    RunSummary,
    SkippedRun,
)
from openfn_airflow.plugin.permissions import PermissionsDep, not_found
from openfn_airflow.plugin.security import require_run
from openfn_airflow.runtime.exit_codes import meaning_of
from openfn_airflow.store import run_search, runs
from openfn_airflow.store.filters import COUNT_BUDGET_MS

# Each retry is a DAG run created in one request: past this, narrow the filters.
MAX_RETRY = 1000

router = APIRouter(tags=["runs"])


@router.get("/runs", dependencies=[single_values(RunListQuery)])
def list_runs(
    filters: Annotated[RunListQuery, Query()], conn: ConnDep, perms: PermissionsDep
) -> Page[RunSummary]:
    """List runs, newest first, a page at a time."""
    where = perms.runs(filters.to_filter(utcnow()))
    rows = run_search.search_runs(conn, where, limit=filters.limit + 1, before_id=filters.before_id)
    total, timed_out = counted(
        lambda: run_search.count_runs(conn, where, budget_ms=COUNT_BUDGET_MS)
    )
    page = rows[: filters.limit]
    return Page[RunSummary](
        items=[RunSummary(**row) for row in page],
        total=total,
        total_capped=total is None and not timed_out,
        total_timed_out=timed_out,
        next=page[-1]["id"] if len(rows) > filters.limit else None,
    )


@router.get(
    "/runs.csv", response_class=StreamingResponse, dependencies=[single_values(RunExportQuery)]
)
def export_runs(
    filters: Annotated[RunExportQuery, Query()], perms: PermissionsDep
) -> StreamingResponse:
    """Download the filtered runs as CSV, with their logs when asked."""
    include_log = filters.include_log
    return csv_download(
        lambda conn, where: run_search.export_runs(conn, where, include_log=include_log),
        perms.runs(filters.to_filter(utcnow())),
        "runs",
    )


@router.get("/runs/{run_id}")
def get_run(run_id: PathId, conn: ConnDep, perms: PermissionsDep) -> RunDetail:
    """Show one run with its log and states."""
    row = runs.get_run(conn, run_id)
    if row is None or not perms.sees_run(row["project"], row["job"]):
        raise not_found(f"Run {run_id} not found")
    return RunDetail(
        **row,
        exit_meaning=meaning_of(row["exit_code"]),
        retried_by=run_search.list_retries_of(conn, run_id),
    )


@router.post(
    "/runs/retry",
    dependencies=[*require_run, Depends(action_logging("openfn.retry_runs"))],
)
def retry_runs(
    request: RetryRequest, conn: ConnDep, user: UserDep, perms: PermissionsDep
) -> RetryResult:
    """Retry the matching finished runs, each as a new run on its initial state."""
    from airflow.utils.session import create_session

    from openfn_airflow.dags import retries

    where = perms.runs(request.to_filter(utcnow()))
    selected = run_search.select_retry_runs(conn, where, MAX_RETRY + 1)
    conn.rollback()
    if len(selected) > MAX_RETRY:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"More than {MAX_RETRY} runs match: narrow the filters (an id range, a job, a status)",
        )
    jobs = Counter(f"{run['project']}/{run['job']}" for run in selected)
    if request.dry_run:
        return RetryResult(dry_run=True, count=len(selected), jobs=jobs, retried=[], skipped=[])
    perms.require_run(retries.job_dag_id(run) for run in selected)
    with create_session() as session:
        outcome = retries.retry_runs(session, selected, user_name=user.get_name())
    return RetryResult(
        dry_run=False,
        count=len(selected),
        jobs=jobs,
        retried=[RetriedRun(run_id=r, dag_id=d, dag_run_id=i) for r, d, i in outcome.retried],
        skipped=[SkippedRun(run_id=r, reason=why) for r, why in outcome.skipped],
    )
