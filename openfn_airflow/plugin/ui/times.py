"""Times on the pages: Airflow's display time zone, and the date window of a list.

The zone is Airflow's ``[core] default_timezone`` (``utc``, ``system`` or an IANA name), read
on every page so a changed setting shows without a restart. Pages show times in it, and a custom
date range is typed and shown in it; in the URL a custom bound carries its offset
(``2024-05-31T17:30:00+05:30``), so a shared link means the same instant everywhere. The pages'
script shows times in the zone the user picked in Airflow's UI instead, when there is one.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from openfn_airflow.plugin.models.common import NO_BOUND, parse_time, utcnow

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what a datetime-local input holds
RELATIVE_WINDOWS = ("24h", "7d", "30d", NO_BOUND)


@dataclass(frozen=True)
class Zone:
    name: str  # IANA name, as Airflow's UI and the browser's Intl name it
    tzinfo: dt.tzinfo


@functools.cache
def _zone(setting: str) -> Zone:
    from pendulum import Timezone  # Airflow's own time zone library
    from pendulum.tz.local_timezone import get_local_timezone

    found: dt.tzinfo
    try:
        if setting.strip().lower() == "system":
            found = get_local_timezone()
        else:
            found = Timezone("UTC" if setting.strip().lower() == "utc" else setting.strip())
    except Exception:  # an unknown name: Airflow itself falls back to UTC
        return Zone("UTC", dt.UTC)
    name = getattr(found, "name", None) or "UTC"
    return Zone("UTC" if name in ("Etc/UTC", "UTC") else name, found)


def display_zone() -> Zone:
    """Airflow's configured time zone (``[core] default_timezone``)."""
    from airflow.configuration import conf

    return _zone(conf.get("core", "default_timezone", fallback="utc"))


def format_time(value: dt.datetime | None) -> str:
    """To the second, in the display zone (the page's script may re-render it in the user's)."""
    if value is None:
        return ""
    return value.astimezone(display_zone().tzinfo).strftime(TIME_FORMAT)


def window_choice(value: str | None) -> str:
    """Which choice of the date menu a time bound is: a relative range, all time, or custom."""
    if value in RELATIVE_WINDOWS:
        return value
    return "30d" if value is None else "custom"


def localise(value: str, zone: Zone) -> str:
    """A custom time bound typed without an offset, read in ``zone``, as ISO with its offset.

    Anything else (a relative range, ``all``, a bound with an offset, something that is not a
    time at all) is returned as it is, for the filter model to accept or explain.
    """
    text = value.strip()
    if window_choice(text) != "custom":
        return value
    try:
        parsed = parse_time(text, utcnow())
        naive = dt.datetime.fromisoformat(text)
    except ValueError:
        return value
    if parsed is None or naive.tzinfo is not None:
        return value
    return naive.replace(tzinfo=zone.tzinfo).isoformat()


@dataclass(frozen=True)
class CustomBound:
    value: str  # the datetime-local input's value, in the display zone
    instant: str  # the same time as ISO with an offset, for the script to show in another zone


def custom_bound(value: str | None, zone: Zone) -> CustomBound:
    """A custom time bound as the range's input shows it (empty unless the bound is custom)."""
    if value is None or window_choice(value) != "custom":
        return CustomBound("", "")
    try:
        parsed = parse_time(value, utcnow())
    except ValueError:
        return CustomBound("", "")
    if parsed is None:
        return CustomBound("", "")
    return CustomBound(parsed.astimezone(zone.tzinfo).strftime(INPUT_FORMAT), parsed.isoformat())
