"""Numbered pages over keyset paging: "page N of M" and "go to page N".

A list is read a page at a time below a cursor (``before_id``: the id the previous page ended
with), which stays fast however deep one reads and does not shift when new rows arrive. The page
number rides along in the URL (``page``) so the pager can say where one is. Going to page N
without a cursor finds it with one query that walks the list's own index for at most the count
cap (10,000 rows) and has the count's time budget; deeper pages are reached with "Older", and the
pager says so rather than scan further.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from pydantic import BaseModel, Field

from openfn_airflow.store.errors import StatementTimedOut
from openfn_airflow.store.filters import COUNT_CAP

M = TypeVar("M", bound=BaseModel)


class _Paged(Protocol):
    """A list screen's query: the API's ``limit`` and ``before_id``, and the page number."""

    @property
    def limit(self) -> int: ...
    @property
    def before_id(self) -> int | None: ...
    @property
    def page(self) -> int | None: ...


class PageNumber(BaseModel):
    """The page parameter of a list screen (not the JSON API's: it pages by cursor only)."""

    page: int | None = Field(None, ge=1, description="Page number, 1 being the newest.")


def deepest_page(size: int) -> int:
    """The deepest page "go to page" reaches: its first row is within the count cap."""
    return (COUNT_CAP - 1) // size + 1


def go_to_page(
    filters: M,
    noun: str,
    locate: Callable[[int], int | None],
    count: Callable[[], int | None],
) -> tuple[M, str | None]:
    """Resolve ``page`` to its cursor when the URL has no cursor; a notice when it cannot.

    ``locate(position)``: the id at that position of the list (0: the newest), or None past its
    end; ``count()``: how many rows the list has (None past the cap). Both may time out.
    """
    paged = cast(_Paged, filters)
    number, size = paged.page, paged.limit
    if number is None or number == 1 or paged.before_id is not None:
        return filters, None
    first = filters.model_copy(update={"page": None, "before_id": None})
    if number > deepest_page(size):
        return first, (
            f"Page {number:,} starts past the first {COUNT_CAP:,} {noun}s, which is as far as "
            f"pages are counted ({deepest_page(size):,} pages of {size}): narrow the filters, "
            "or go on page by page with Older."
        )
    notice = None
    try:
        cursor = locate((number - 1) * size - 1)
        if cursor is None:  # past the end: the last page instead
            total = count() or 0
            last = max(1, math.ceil(total / size))
            notice = (
                f"There is no page {number:,}: "
                f"{'this is the only page' if last == 1 else f'the last page is {last:,}'}."
            )
            if last == 1:
                return first, notice
            number = last
            cursor = locate((last - 1) * size - 1)
            if cursor is None:
                return first, notice
    except StatementTimedOut:
        return first, (
            f"Finding page {number:,} took too long: narrow the filters, "
            "or go on page by page with Older."
        )
    return filters.model_copy(update={"page": number, "before_id": cursor}), notice


@dataclass(frozen=True)
class Pager:
    number: int | None  # the page shown; None when reached by a cursor without a number
    pages: int | None  # how many pages there are, when the count is exact
    more: bool  # more pages than were counted (more rows than the count cap)
    size: int
    shown: int  # rows on this page
    deepest: int  # the deepest page "go to page" reaches
    counted_pages: int  # pages the count cap covers in full ("more than" that when capped)
    cap: int
    before_id: int | None


def pager(filters: BaseModel, page: Any) -> Pager:
    """Where a list's page is: its number and how many pages there are, as far as is known."""
    paged = cast(_Paged, filters)
    size, before_id = paged.limit, paged.before_id
    number = paged.page or (1 if before_id is None else None)
    total = page.total if page is not None else None
    return Pager(
        number=number,
        pages=None if total is None else max(1, math.ceil(total / size)),
        more=bool(page is not None and page.total_capped),
        size=size,
        shown=len(page.items) if page is not None else 0,
        deepest=deepest_page(size),
        counted_pages=COUNT_CAP // size,
        cap=COUNT_CAP,
        before_id=before_id,
    )
