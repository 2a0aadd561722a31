"""The message history: list, one message, edit its body, process it, bulk reprocess, CSV export.

Processing re-runs the "message arrived" path: triggers are matched again, and one dispatch row
(the inbox's outbox) is queued per matching trigger that a job listens to; the dispatcher turns
them into asset events, so the runs start as for a message that just arrived.
"""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.logging.decorators import action_logging
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse

from openfn_airflow.plugin.deps import ConnDep, UserDep
from openfn_airflow.plugin.exports import csv_download
from openfn_airflow.plugin.models.common import Page, PathId, counted, single_values, utcnow
from openfn_airflow.plugin.models.messages import (
    Attachment,
    Dispatch,
    EditResult,
    JobRunResult,
    LatestRun,
    MatchingJob,
    MessageDetail,
    MessageEdit,
    MessageListQuery,
    MessageQuery,
    MessageRetryRequest,
    MessageRetryResult,
    MessageSummary,
    MessageVersion,
    ProcessResult,
    ReprocessRequest,
    ReprocessResult,
    WaitingDelivery,
)
from openfn_airflow.plugin.models.runs import RunSummary
from openfn_airflow.plugin.permissions import Permissions, PermissionsDep, not_found
from openfn_airflow.plugin.security import require_run
from openfn_airflow.store import (
    attachments,
    message_search,
    message_versions,
    messages,
    registry,
    run_search,
    runs,
)
from openfn_airflow.store.filters import COUNT_BUDGET_MS, MessageFilter
from openfn_airflow.store.message_search import UnknownTrigger

# One request queues at most this many messages: past it, narrow the filters.
MAX_REPROCESS = 100_000

router = APIRouter(tags=["messages"])


def _summary(
    row: dict[str, Any],
    jobs: list[MatchingJob] | None = None,
    waiting: list[WaitingDelivery] | None = None,
) -> MessageSummary:
    latest = None
    if row["latest_run_id"] is not None:
        latest = LatestRun(
            id=row["latest_run_id"], job=row["latest_run_job"], status=row["latest_run_status"]
        )
    return MessageSummary(**row, latest_run=latest, jobs=jobs or [], waiting=waiting or [])


def _summaries(
    conn: ConnDep, perms: Permissions, rows: list[dict[str, Any]]
) -> list[MessageSummary]:
    """The rows as summaries, each with the jobs that match it and its deliveries waiting in
    Airflow, of the DAGs the user may read."""
    ids = [row["id"] for row in rows]
    jobs = registry.message_jobs(conn, ids)
    waiting = message_search.waiting_deliveries(conn, ids)
    return [
        _summary(
            row,
            [
                MatchingJob(**job)
                for job in jobs[row["id"]]
                if perms.sees_run(row["project"], job["job"])
            ],
            [
                WaitingDelivery(**wait)
                for wait in waiting[row["id"]]
                if perms.sees_dag(wait["dag_id"])
            ],
        )
        for row in rows
    ]


def _bad_filter(exc: UnknownTrigger) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, str(exc))


@router.get("/messages", dependencies=[single_values(MessageListQuery)])
def list_messages(
    filters: Annotated[MessageListQuery, Query()], conn: ConnDep, perms: PermissionsDep
) -> Page[MessageSummary]:
    """List messages, newest first, a page at a time."""
    where = perms.messages(filters.to_filter(utcnow()))
    try:
        rows = message_search.search_messages(
            conn, where, limit=filters.limit + 1, before_id=filters.before_id
        )
        total, timed_out = counted(
            lambda: message_search.count_messages(conn, where, budget_ms=COUNT_BUDGET_MS)
        )
    except UnknownTrigger as exc:
        raise _bad_filter(exc) from None
    page = rows[: filters.limit]
    return Page[MessageSummary](
        items=_summaries(conn, perms, page),
        total=total,
        total_capped=total is None and not timed_out,
        total_timed_out=timed_out,
        next=page[-1]["id"] if len(rows) > filters.limit else None,
    )


@router.get(
    "/messages.csv",
    response_class=StreamingResponse,
    dependencies=[single_values(MessageQuery)],
)
def export_messages(
    filters: Annotated[MessageQuery, Query()], perms: PermissionsDep
) -> StreamingResponse:
    """Download the filtered messages as CSV."""
    where = perms.messages(filters.to_filter(utcnow()))
    try:
        return csv_download(message_search.export_messages, where, "messages")
    except UnknownTrigger as exc:
        raise _bad_filter(exc) from None


@router.post(
    "/messages/reprocess",
    dependencies=[*require_run, Depends(action_logging("openfn.reprocess_messages"))],
)
def reprocess_messages(
    request: ReprocessRequest, conn: ConnDep, perms: PermissionsDep
) -> ReprocessResult:
    """Process the matching messages again, oldest first, as if they had just arrived."""
    where = perms.messages(request.to_filter(utcnow()))
    try:
        count = message_search.count_messages(conn, where, cap=MAX_REPROCESS)
        if count is None:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                f"More than {MAX_REPROCESS} messages match: narrow the filters (an id range, "
                "dates, a trigger)",
            )
        if request.dry_run:
            would = message_search.count_reprocess(conn, where)
            return ReprocessResult(
                dry_run=True,
                count=count,
                dispatches=would["dispatches"],
                messages_with_matches=would["messages"],
            )
        queued = message_search.queue_reprocess(conn, where)
        _require_run_queued(conn, perms, queued)
    except UnknownTrigger as exc:
        raise _bad_filter(exc) from None
    conn.commit()
    return ReprocessResult(
        dry_run=False,
        count=count,
        dispatches=len(queued),
        messages_with_matches=len({row["message_id"] for row in queued}),
    )


def _require_run_queued(conn: ConnDep, perms: Permissions, queued: list[dict[str, Any]]) -> None:
    """403 (the caller rolls the queued rows back) unless the user may run every DAG they start."""
    targets = [(row["project"], row["trigger"]) for row in queued]
    perms.require_run(registry.listening_dags(conn, targets))


def visible_message(conn: ConnDep, perms: Permissions, message_id: int) -> dict[str, Any]:
    """The stored message, or 404 when there is none or the user may not see its project."""
    message = messages.get_message(conn, message_id)
    if message is None or not perms.sees_project(message["project"]):
        raise not_found(f"Message {message_id} not found")
    return message


def attachment_url(request: Request, message_id: int, position: int) -> str:
    """The download route of a message's file, as this request sees the plugin's root."""
    root = str(request.scope.get("root_path", "")).rstrip("/")  # ".../openfn"
    return f"{root}/api/v1/messages/{message_id}/attachments/{position}"


@router.get("/messages/{message_id}")
def get_message(
    message_id: PathId, request: Request, conn: ConnDep, perms: PermissionsDep
) -> MessageDetail:
    """Show one message with its runs, deliveries, files and earlier bodies."""
    message = visible_message(conn, perms, message_id)
    found = message_search.search_messages(
        conn, perms.messages(MessageFilter(from_id=message_id, to_id=message_id)), limit=1
    )
    if not found:
        raise not_found(f"Message {message_id} not found")
    return MessageDetail(
        **_summaries(conn, perms, found)[0].model_dump(),
        query=message.get("query"),
        attachments=[
            Attachment(**row, url=attachment_url(request, message_id, row["position"]))
            for row in attachments.list_attachments(conn, message_id)
        ],
        incomplete=message["incomplete"],
        matches_now=message_search.listening_matches(conn, message_id),
        runs=[
            RunSummary(**row)
            for row in run_search.list_message_runs(
                conn, message_id, visible_jobs=perms.visible_jobs
            )
        ],
        dispatches=[Dispatch(**row) for row in message_search.list_dispatches(conn, message_id)],
        versions=[
            MessageVersion(**row) for row in message_versions.list_versions(conn, message_id)
        ],
    )


@router.put("/messages/{message_id}", dependencies=require_run)
def edit_message(
    message_id: PathId, edit: MessageEdit, conn: ConnDep, user: UserDep, perms: PermissionsDep
) -> EditResult:
    """Replace a message's body, keeping the previous one as a version.

    Needs run access to every DAG the message (as it is, or as edited) can start; a message no
    job's trigger matches, to every DAG of its project.
    """
    message = visible_message(conn, perms, message_id)
    project = message["project"]
    dags = registry.body_trigger_dags(conn, project, [message["body"], edit.body])
    perms.require_run(dags or perms.project_dags(project) or ["~"])
    version_id = message_versions.edit_body(conn, message_id, edit.body, changed_by=user.get_name())
    conn.commit()
    return EditResult(id=message_id, changed=version_id is not None, version_id=version_id)


@router.post(
    "/messages/{message_id}/process",
    dependencies=[*require_run, Depends(action_logging("openfn.process_message"))],
)
def process_message(message_id: PathId, conn: ConnDep, perms: PermissionsDep) -> ProcessResult:
    """Run a message's matches now, as if it had just arrived."""
    visible_message(conn, perms, message_id)
    queued = message_search.queue_reprocess(
        conn, MessageFilter(from_id=message_id, to_id=message_id)
    )
    _require_run_queued(conn, perms, queued)
    conn.commit()
    return ProcessResult(message_id=message_id, matched=sorted({row["trigger"] for row in queued}))


@router.post(
    "/messages/{message_id}/jobs/{job}/run",
    dependencies=[*require_run, Depends(action_logging("openfn.run_job_on_message"))],
)
def run_job_on_message(
    message_id: PathId, job: str, conn: ConnDep, user: UserDep, perms: PermissionsDep
) -> JobRunResult:
    """Run one job whose trigger matches the message on it now, autoprocess on or off."""
    from airflow.utils.session import create_session

    from openfn_airflow.dags import retries

    message = visible_message(conn, perms, message_id)
    matching = {row["job"]: row for row in registry.message_jobs(conn, [message_id])[message_id]}
    conn.rollback()
    found = matching.get(job)
    if found is None or not perms.sees_run(message["project"], job):
        raise not_found(
            f"No job {job!r} of project {message['project']!r} has a trigger that matches "
            f"message {message_id}: see the message's page for the jobs that do"
        )
    perms.require_run([found["dag_id"]])
    try:
        with create_session() as session:
            dag_run_id = retries.run_on_message(
                session, found["dag_id"], message_id, user_name=user.get_name()
            )
    except retries.CannotStart as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return JobRunResult(
        message_id=message_id, job=job, dag_id=found["dag_id"], dag_run_id=dag_run_id
    )


@router.post(
    "/messages/{message_id}/runs/{run_id}/retry",
    dependencies=[*require_run, Depends(action_logging("openfn.retry_message_run"))],
)
def retry_message_run(
    message_id: PathId,
    run_id: PathId,
    request: MessageRetryRequest,
    conn: ConnDep,
    user: UserDep,
    perms: PermissionsDep,
) -> MessageRetryResult:
    """Retry one run of the message: on its own initial state, or on the message as it is now."""
    from airflow.utils.session import create_session

    from openfn_airflow.dags import retries

    visible_message(conn, perms, message_id)
    run = runs.get_run(conn, run_id)
    conn.rollback()
    if (
        run is None
        or run["message_id"] != message_id
        or not perms.sees_run(run["project"], run["job"])
    ):
        raise not_found(f"Message {message_id} has no run {run_id}")
    dag_id = retries.job_dag_id(run)
    perms.require_run([dag_id])
    with create_session() as session:
        if request.message == "current":
            try:
                dag_run_id = retries.retry_with_current_message(
                    session, run, user_name=user.get_name()
                )
            except retries.CannotStart as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        else:
            outcome = retries.retry_runs(
                session,
                [{**run, "has_initial_state": run.get("initial_state") is not None}],
                user_name=user.get_name(),
            )
            if outcome.skipped:
                raise HTTPException(
                    status.HTTP_409_CONFLICT, f"Cannot retry: {outcome.skipped[0][1]}"
                )
            dag_run_id = outcome.retried[0][2]
    return MessageRetryResult(
        run_id=run_id, message=request.message, dag_id=dag_id, dag_run_id=dag_run_id
    )
