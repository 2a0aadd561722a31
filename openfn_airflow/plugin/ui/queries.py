"""A page's query string as the JSON API's filter model, and the links that keep it."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from pydantic import BaseModel, ValidationError

from openfn_airflow.plugin.models.common import parse_time, utcnow
from openfn_airflow.plugin.ui.paging import pager
from openfn_airflow.plugin.ui.times import custom_bound, display_zone, localise, window_choice

M = TypeVar("M", bound=BaseModel)
# Page-only parameters: not filters, so not part of a bulk action or an export.
PAGING = ("limit", "before_id", "page")
PAGE_SIZES = (25, 50, 100, 200)


def read_filters(
    request: Request, model: type[M], lists: tuple[str, ...] = (), times: tuple[str, ...] = ()
) -> tuple[M, str | None]:
    """Parse the query string with the API's model; on bad input, the defaults and the error.

    ``times``: the time-bound parameters; a custom time without an offset is one in Airflow's
    display time zone (the range inputs show it), kept with its offset from here on.
    """
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = [v for v in request.query_params.getlist(key) if v.strip()]
        if values:
            params[key] = values if key in lists else values[-1]
    if times:
        zone = display_zone()
        for key in times:
            if isinstance(params.get(key), str):
                params[key] = localise(params[key], zone)
    try:
        return model.model_validate(params), None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        return model.model_validate({}), problems


def query_pairs(
    filters: BaseModel, drop: tuple[str, ...] = (), **replace: Any
) -> list[tuple[str, str]]:
    """The filters as query parameters (defaults left out), without ``drop``, with ``replace``."""
    values = filters.model_dump(exclude_defaults=True, exclude=set(drop))
    values.update({k: v for k, v in replace.items() if v is not None})
    pairs: list[tuple[str, str]] = []
    paging_last = sorted(values, key=lambda key: PAGING.index(key) if key in PAGING else -1)
    for key, value in ((key, values[key]) for key in paging_last):
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, str(item)))
    return pairs


def query_string(filters: BaseModel, drop: tuple[str, ...] = (), **replace: Any) -> str:
    """The filters as a query string (defaults left out), without ``drop``, with ``replace``."""
    return urlencode(query_pairs(filters, drop, **replace))


def pinned(filters: BaseModel, *time_fields: str) -> dict[str, Any]:
    """The filters of a bulk action, relative times pinned to now (the count shown is what runs)."""
    now = utcnow()
    values = filters.model_dump(exclude=set(PAGING), exclude_none=True)
    for name in time_fields:
        bound = parse_time(values.get(name), now)
        values[name] = bound.isoformat() if bound else "all"
    return values


def id_range_filters(
    bulk: dict[str, Any],
    after: str,
    before: str,
    labels: dict[str, str],
    shown: dict[str, dict[str, str]] | None = None,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The filters of a bulk action on an id range, and the ones it keeps, labelled for the form.

    An id range says which rows it means: it keeps the other filters of the list, not its dates.
    ``labels``: the kept filters to name, by parameter; ``shown``: how some of their values read.
    """
    kept = {k: v for k, v in bulk.items() if k not in (after, before, "from_id", "to_id")}
    terms = []
    for name, label in labels.items():
        value = kept.get(name)
        if value in (None, [], ""):
            continue
        values = value if isinstance(value, list) else [value]
        words = (shown or {}).get(name, {})
        terms.append((label, ", ".join(words.get(str(v), str(v)) for v in values)))
    return {**kept, after: "all"}, terms


def list_context(filters: BaseModel, page: Any, after: str, before: str) -> dict[str, Any]:
    """What a list screen's template needs besides its rows: the date window, page sizes, the
    pager, and the query strings of the export, the next and the newest page and the bulk action.

    ``after`` / ``before``: the names of the filter's time-bound fields.
    """
    zone = display_zone()
    where = pager(filters, page)
    return {
        "window": window_choice(getattr(filters, after)),
        "custom_after": custom_bound(getattr(filters, after), zone),
        "custom_before": custom_bound(getattr(filters, before), zone),
        "page_sizes": PAGE_SIZES,
        "pager": where,
        "export_query": query_string(filters, drop=PAGING),
        "next_query": page
        and page.next
        and query_string(
            filters, before_id=page.next, page=where.number + 1 if where.number else None
        ),
        "newest_query": query_string(filters, drop=("before_id", "page")),
        "goto_pairs": query_pairs(filters, drop=("before_id", "page")),
        "bulk": pinned(filters, after, before),
    }
