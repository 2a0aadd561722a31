"""A page's query string as the JSON API's filter model, and the links that keep it."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from pydantic import BaseModel, ValidationError

from openfn_airflow.plugin.models.common import parse_time, utcnow

M = TypeVar("M", bound=BaseModel)
# Page-only parameters: not filters, so not part of a bulk action or an export.
PAGING = ("limit", "before_id")
PAGE_SIZES = (25, 50, 100, 200)


def read_filters(
    request: Request, model: type[M], lists: tuple[str, ...] = ()
) -> tuple[M, str | None]:
    """Parse the query string with the API's model; on bad input, the defaults and the error."""
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = [v for v in request.query_params.getlist(key) if v.strip()]
        if values:
            params[key] = values if key in lists else values[-1]
    try:
        return model.model_validate(params), None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        return model.model_validate({}), problems


def query_string(filters: BaseModel, drop: tuple[str, ...] = (), **replace: Any) -> str:
    """The filters as a query string (defaults left out), without ``drop``, with ``replace``."""
    values = filters.model_dump(exclude_defaults=True, exclude=set(drop))
    values.update({k: v for k, v in replace.items() if v is not None})
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, str(item)))
    return urlencode(pairs)


def pinned(filters: BaseModel, *time_fields: str) -> dict[str, Any]:
    """The filters of a bulk action, relative times pinned to now (the count shown is what runs)."""
    now = utcnow()
    values = filters.model_dump(exclude=set(PAGING), exclude_none=True)
    for name in time_fields:
        bound = parse_time(values.get(name), now)
        values[name] = bound.isoformat() if bound else "all"
    return values


def window_choice(value: str | None) -> str:
    """Which choice of the date menu a time bound is: a relative range, all time, or custom."""
    if value in ("24h", "7d", "30d", "all"):
        return value
    return "30d" if value is None else "custom"


def input_time(value: str | None) -> str:
    """A custom time bound as a ``datetime-local`` input shows it (UTC)."""
    if value is None or window_choice(value) != "custom":
        return ""
    try:
        parsed = parse_time(value, utcnow())
    except ValueError:
        return ""
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M") if parsed else ""


def list_context(filters: BaseModel, page: Any, after: str, before: str) -> dict[str, Any]:
    """What a list screen's template needs besides its rows: the date window, page sizes, and
    the query strings of the export, the next and the newest page and the bulk action.

    ``after`` / ``before``: the names of the filter's time-bound fields.
    """
    return {
        "window": window_choice(getattr(filters, after)),
        "custom_after": input_time(getattr(filters, after)),
        "custom_before": input_time(getattr(filters, before)),
        "page_sizes": PAGE_SIZES,
        "export_query": query_string(filters, drop=PAGING),
        "next_query": page and page.next and query_string(filters, before_id=page.next),
        "newest_query": query_string(filters, drop=("before_id",)),
        "bulk": pinned(filters, after, before),
    }
