"""Cron schedules and their timezones, checked the way Airflow's CronTriggerTimetable reads them."""

from __future__ import annotations

import datetime
import zoneinfo

from croniter import CroniterBadDateError, croniter

from openfn_airflow.spec.problems import did_you_mean

#: The presets Airflow's CronTriggerTimetable understands (airflow.utils.dates.cron_presets).
CRON_PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")

_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31 or L"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-6 or SUN-SAT"),
)
_SHAPE = 'write minute hour day-of-month month day-of-week, e.g. "*/5 * * * *"'


def cron_problem(expression: str) -> tuple[str, str] | None:
    """Return (message, hint) when `expression` is not a 5-field cron expression or preset."""
    text = expression.strip()
    if text.startswith("@"):
        if text in CRON_PRESETS:
            return None
        return (
            f'"{expression}" is not a cron preset Airflow knows',
            did_you_mean(text, CRON_PRESETS, listing="presets"),
        )
    fields = text.split()
    if len(fields) != 5:
        extra = "; seconds are not supported" if len(fields) == 6 else ""
        return (
            f'"{expression}" is not a cron expression (5 fields expected)',
            f"{_SHAPE}; this one has {len(fields)} fields{extra}",
        )
    bad = [index for index, field in enumerate(fields) if not _field_is_valid(index, field)]
    if bad:
        details = "; ".join(
            f'{_FIELDS[i][0]} "{fields[i]}" (allowed: {_FIELDS[i][1]})' for i in bad
        )
        return (
            f'"{expression}" is not a valid cron expression: {details}',
            "each field takes a value, a range a-b, a list a,b, * or a step like */5",
        )
    if not croniter.is_valid(text):
        return f'"{expression}" is not a valid cron expression', _SHAPE
    try:
        croniter(text, datetime.datetime(2000, 1, 1)).get_next(datetime.datetime)
    except CroniterBadDateError:
        return (
            f'"{expression}" never matches a date',
            "check the day-of-month and month fields (e.g. there is no February 30)",
        )
    return None


def _field_is_valid(index: int, field: str) -> bool:
    probe = ["*"] * 5
    probe[index] = field
    return croniter.is_valid(" ".join(probe))


def timezone_problem(name: str) -> tuple[str, str] | None:
    """Return (message, hint) when `name` is not an IANA timezone such as "Africa/Nairobi"."""
    try:
        zoneinfo.ZoneInfo(name)
        return None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    hint = did_you_mean(name, zoneinfo.available_timezones())
    return (
        f'"{name}" is not a timezone',
        hint or 'use an IANA timezone name such as "UTC" or "Africa/Nairobi"',
    )
