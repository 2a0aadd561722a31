"""Reading a project's retention: how long its messages and runs are kept (activity cleaning)."""

from __future__ import annotations

from openfn_airflow.spec.durations import parse_duration
from openfn_airflow.spec.fields import check_keys, describe, expect_mapping
from openfn_airflow.spec.models import Retention
from openfn_airflow.spec.problems import Problems

RETENTION_KEYS = ("messages", "runs")
#: The maintenance DAG runs daily: a shorter period would not be kept to anyway.
MIN_RETENTION_SECONDS = 86400.0

_EXAMPLE = "e.g. retention: {messages: 90d, runs: 30d}"
_V1_HINTS = {
    "history": "OpenFn's history retention is the runs' period here: write runs: 30d",
    "dataclips": "message bodies are deleted with their messages here: write messages: 30d",
}


def read_retention(data: dict, problems: Problems) -> Retention:
    """Read ``retention:``; a missing key, or a period left out or null, keeps everything.

    A period with a problem is recorded and read as "keep forever": a wrong spec never deletes.
    """
    raw = data.get("retention")
    if raw is None:
        return Retention()
    mapping = expect_mapping(
        raw, ("retention",), problems, "a mapping of periods by kind of activity", _EXAMPLE
    )
    if mapping is None:
        return Retention()
    check_keys(mapping, RETENTION_KEYS, ("retention",), problems, _V1_HINTS)
    return Retention(
        messages=_read_period(mapping, "messages", problems),
        runs=_read_period(mapping, "runs", problems),
    )


def _read_period(mapping: dict, key: str, problems: Problems) -> float | None:
    value = mapping.get(key)
    if value is None:
        return None
    path = ("retention", key)
    hint = f"write a number of days, e.g. {key}: 30d; leave {key} out to keep them forever"
    if isinstance(value, bool):
        problems.add(path, f"expected a period such as 30d, got {describe(value)}", hint)
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as error:
        problems.add(path, str(error), hint)
        return None
    if seconds < MIN_RETENTION_SECONDS:
        unitless = isinstance(value, int | float) or (
            isinstance(value, str) and value.strip().replace(".", "", 1).isdigit()
        )
        what = f"{value} seconds" if unitless else f'"{value}"'
        problems.add(
            path,
            f"{what} is shorter than a day, the least retention (the maintenance DAG runs daily)",
            f"a number alone is seconds: write {value}d for days"
            if unitless and seconds > 0
            else hint,
        )
        return None
    return seconds
