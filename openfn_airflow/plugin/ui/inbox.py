"""The Inbox screen: messages newest first with filters, and one message with its runs."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from openfn_airflow.plugin.deps import ConnDep
from openfn_airflow.plugin.models.messages import MessageListQuery, MessageQuery
from openfn_airflow.plugin.routers import messages as api
from openfn_airflow.plugin.ui.access import AccessDep, PageRoute
from openfn_airflow.plugin.ui.projects import project_choice
from openfn_airflow.plugin.ui.queries import list_context, query_string, read_filters
from openfn_airflow.plugin.ui.rendering import error_page, render
from openfn_airflow.store import message_search
from openfn_airflow.store.filters import MessageFilter

PREVIEW_CHARS = 160

router = APIRouter(route_class=PageRoute)


def preview(body: Any) -> str:
    text = json.dumps(body, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, conn: ConnDep, access: AccessDep) -> HTMLResponse:
    """Show the messages, newest first."""
    filters, error = read_filters(request, MessageListQuery)
    page = None
    if error is None:
        try:
            page = api.list_messages(filters, conn)
        except HTTPException as exc:
            error = str(exc.detail)
    choice = project_choice(conn, filters.project)
    return render(
        request,
        "inbox.html",
        access,
        screen="inbox",
        filters=filters,
        error=error,
        page=page,
        preview=preview,
        projects=choice,
        **list_context(filters, page, "received_after", "received_before"),
    )


@router.get("/messages/{message_id}", response_class=HTMLResponse)
def message(message_id: int, request: Request, conn: ConnDep, access: AccessDep) -> HTMLResponse:
    """Show one message: its body, runs, deliveries and earlier versions."""
    try:
        detail = api.get_message(message_id, conn)
    except HTTPException as exc:
        return error_page(request, access, "inbox", exc)
    older = message_search.search_messages(
        conn, MessageFilter(project=detail.project), limit=1, before_id=message_id
    )
    return render(
        request,
        "message.html",
        access,
        screen="inbox",
        message=detail,
        older_id=older[0]["id"] if older else None,
        back_query=query_string(MessageQuery.model_validate({"project": detail.project})),
    )
