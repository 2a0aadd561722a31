"""The Inbox screen: messages newest first with filters, and one message with its runs."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from openfn_airflow.plugin.deps import ConnDep
from openfn_airflow.plugin.models.common import PathId, utcnow
from openfn_airflow.plugin.models.messages import MessageListQuery, MessageQuery
from openfn_airflow.plugin.permissions import Permissions, PermissionsDep
from openfn_airflow.plugin.routers import messages as api
from openfn_airflow.plugin.routers.attachments import PLAIN_MEDIA_TYPES
from openfn_airflow.plugin.ui.access import AccessDep, PageRoute
from openfn_airflow.plugin.ui.paging import PageNumber, go_to_page
from openfn_airflow.plugin.ui.projects import project_choice
from openfn_airflow.plugin.ui.queries import (
    id_range_filters,
    list_context,
    query_string,
    read_filters,
)
from openfn_airflow.plugin.ui.rendering import error_page, render
from openfn_airflow.store import message_search
from openfn_airflow.store.filters import COUNT_BUDGET_MS
from openfn_airflow.store.message_search import UnknownTrigger

PREVIEW_CHARS = 160
# The filters a bulk reprocess of an id range keeps, as its form names them.
RANGE_LABELS = {
    "project": "project",
    "q": "body contains",
    "trigger": "trigger",
    "run_state": "latest run",
    "job": "of job",
}
RUN_STATES = {"success": "succeeded", "failed": "failed", "none": "none yet"}
# Files the message page shows a thumbnail of (the download route serves them as themselves).
PREVIEWABLE = frozenset(t for t in PLAIN_MEDIA_TYPES if t.startswith("image/"))

router = APIRouter(route_class=PageRoute)


class InboxQuery(MessageListQuery, PageNumber):
    """The Inbox's query string: the API's list parameters and the page number."""


def preview(body: Any) -> str:
    text = json.dumps(body, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _go_to_page(
    filters: InboxQuery, conn: Any, perms: Permissions
) -> tuple[InboxQuery, str | None]:
    where = perms.messages(filters.to_filter(utcnow()))
    try:
        return go_to_page(
            filters,
            "message",
            lambda position: message_search.find_message_at(
                conn, where, position, budget_ms=COUNT_BUDGET_MS
            ),
            lambda: message_search.count_messages(conn, where, budget_ms=COUNT_BUDGET_MS),
        )
    except UnknownTrigger:
        return filters, None  # the list says what is wrong with the filters


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    request: Request, conn: ConnDep, access: AccessDep, perms: PermissionsDep
) -> HTMLResponse:
    """Show the messages, newest first."""
    times = ("received_after", "received_before")
    filters, error = read_filters(request, InboxQuery, times=times)
    notice = page = None
    if error is None:
        filters, notice = _go_to_page(filters, conn, perms)
        try:
            page = api.list_messages(filters, conn, perms)
        except HTTPException as exc:
            error = str(exc.detail)
    choice = project_choice(conn, filters.project, perms)
    context = list_context(filters, page, *times)
    id_range, id_range_terms = id_range_filters(
        context["bulk"], *times, RANGE_LABELS, {"run_state": RUN_STATES}
    )
    return render(
        request,
        "inbox.html",
        access,
        screen="inbox",
        filters=filters,
        error=error,
        notice=notice,
        page=page,
        preview=preview,
        projects=choice,
        id_range=id_range,
        id_range_terms=id_range_terms,
        **context,
    )


@router.get("/messages/{message_id}", response_class=HTMLResponse)
def message(
    message_id: PathId, request: Request, conn: ConnDep, access: AccessDep, perms: PermissionsDep
) -> HTMLResponse:
    """Show one message: its body, runs, deliveries and earlier versions."""
    try:
        detail = api.get_message(message_id, request, conn, perms)
    except HTTPException as exc:
        return error_page(request, access, "inbox", exc)
    older_id, newer_id = message_search.find_neighbours(conn, message_id, detail.project)
    return render(
        request,
        "message.html",
        access,
        screen="inbox",
        message=detail,
        older_id=older_id,
        newer_id=newer_id,
        previewable=PREVIEWABLE,
        back_query=query_string(MessageQuery.model_validate({"project": detail.project})),
    )
