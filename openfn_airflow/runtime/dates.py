"""Natural-language dates for cursors ("now", "today", "3 days ago"), always in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_AGO = re.compile(r"^\s*(\d+)\s+(second|minute|hour|day|week)s?\s+ago\s*$", re.IGNORECASE)


def parse_natural_date(
    text: str, *, start: datetime, now: datetime | None = None
) -> datetime | None:
    """Return the moment a cursor word names, or None when ``text`` is not one.

    ``now``/``end``: this instant; ``start``: when the run started; ``today``/``yesterday``:
    midnight UTC; ``N seconds|minutes|hours ago``: that instant; ``N days|weeks ago``:
    midnight UTC that many days back (OpenFn meant this; its own code returns today's midnight).
    """
    now = now or datetime.now(UTC)
    word = text.strip().lower()
    if word in ("now", "end"):
        return now
    if word == "start":
        return start
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if word == "today":
        return midnight
    if word == "yesterday":
        return midnight - timedelta(days=1)
    match = _AGO.match(text)
    if match is None:
        return None
    amount, unit = int(match[1]), match[2].lower()
    if unit in ("day", "week"):
        return midnight - timedelta(days=amount * (7 if unit == "week" else 1))
    return now - timedelta(**{unit + "s": amount})


def iso(moment: datetime) -> str:
    """Format like JavaScript's ``toISOString()``: ``2024-05-01T12:00:00.000Z`` (UTC)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
