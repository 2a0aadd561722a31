"""What every list of the JSON API shares: the page shape and the date-range parameters."""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from fastapi import Path as FastAPIPath
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T")

DEFAULT_WINDOW = "30d"  # lists cover the last 30 days unless told otherwise (OpenFn's default)
NO_BOUND = "all"
_RELATIVE = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

TIME_BOUND_HELP = (
    "A time: ISO date (2024-05-31) or date-time (2024-05-31T12:00:00Z, 2024-05-31 12:00:00; "
    "UTC unless an offset is given), or relative to now: 15m, 24h, 7d, 2w."
)


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first."""

    items: list[T]
    total: int | None = Field(description="How many match in all; null past the count cap.")
    total_capped: bool = Field(False, description="True when more match than were counted.")
    total_timed_out: bool = Field(
        False,
        description="True when counting took longer than its budget (total is null); the page "
        "and its next cursor are complete.",
    )
    next: int | None = Field(description="Pass as before_id for the next page; null at the end.")


# The largest id a bigint column holds: a bigger one is refused (422), not sent to PostgreSQL.
MAX_ID = 2**63 - 1


class Filters(BaseModel):
    """Base of the filter models: unknown parameters are an error, not silently ignored; text
    holding a NUL character (which PostgreSQL cannot take) is refused."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _no_nul(self) -> Filters:
        for name, value in self:
            texts = value if isinstance(value, list) else [value]
            if any(isinstance(text, str) and "\x00" in text for text in texts):
                raise ValueError(f"{name} holds a NUL character")
        return self


def _takes_many(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_takes_many(arg) for arg in typing.get_args(annotation))
    return typing.get_origin(annotation) is list


def single_values(model: type[BaseModel]) -> Any:
    """A route dependency refusing (422) a query parameter given twice that ``model`` takes once.

    FastAPI keeps the last of repeated values (``?q=a&q=b`` searched for ``b`` only): a filter
    the caller did not mean, silently.
    """
    many = {
        field.alias or name
        for name, field in model.model_fields.items()
        if _takes_many(field.annotation)
    }

    def refuse_repeats(request: Request) -> None:
        repeated = sorted(
            key
            for key in set(request.query_params.keys())
            if key not in many and len(request.query_params.getlist(key)) > 1
        )
        if repeated:
            raise RequestValidationError(
                [
                    {"type": "value_error", "loc": ("query", key), "msg": f"{key} is given twice"}
                    for key in repeated
                ]
            )

    return Depends(refuse_repeats)


def parse_time(value: str | None, now: dt.datetime) -> dt.datetime | None:
    """Turn a time bound (``7d``, ``2024-05-31``, ISO date-time, ``all``) into a UTC datetime.

    None and ``all`` mean no bound. ValueError says what is accepted.
    """
    if value is None or value.strip().lower() in ("", NO_BOUND):
        return None
    relative = _RELATIVE.match(value)
    if relative:
        return now - dt.timedelta(**{_UNITS[relative[2]]: int(relative[1])})
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a time. {TIME_BOUND_HELP}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_time(value: str | None) -> str | None:
    parse_time(value, utcnow())
    return value


TimeBound = Annotated[str | None, AfterValidator(_check_time), Field(description=TIME_BOUND_HELP)]
Id = Annotated[int | None, Field(ge=1, le=MAX_ID)]
# A message or run id in a URL path: a larger number is refused (422) before it reaches SQL.
PathId = Annotated[int, FastAPIPath(ge=1, le=MAX_ID)]
# An Airflow DAG id or run id in a URL path: no NUL, which PostgreSQL refuses in text.
PathText = Annotated[str, FastAPIPath(pattern="^[^\x00]+$")]


def counted(count: Callable[[], int | None]) -> tuple[int | None, bool]:
    """Run a budgeted count: (its result, False), or (None, True) when it ran out of time."""
    from openfn_airflow.store.errors import StatementTimedOut

    try:
        return count(), False
    except StatementTimedOut:
        return None, True
