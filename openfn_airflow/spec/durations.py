"""Durations as people write them in a spec: `90`, `"100s"`, `"1h30m"`, `"1500ms"`."""

from __future__ import annotations

import math
import re
from datetime import timedelta

UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*")
_EXAMPLES = 'a number of seconds, or a number with a unit: "1500ms", "100s", "5m", "1h30m", "2d"'


def parse_duration(value: object) -> float:
    """Return `value` in seconds.

    Accepts seconds as an int or float (or a string holding one), a string of number-unit parts
    (units ms, s, m, h, d; each unit at most once, e.g. "1h30m") or a `timedelta`.
    Raises ValueError saying what was expected for anything else, including negative durations.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (expected {_EXAMPLES})")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise ValueError(f"expected a duration ({_EXAMPLES}), got {type(value).__name__} {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a duration: it must be 0 or more seconds")
    return seconds


def _parse_text(text: str) -> float:
    stripped = text.strip()
    if _NUMBER.fullmatch(stripped):
        return float(stripped)
    total, position, units = 0.0, 0, set()
    while position < len(stripped):
        match = _PART.match(stripped, position)
        if match is None or match.end() == position:
            raise ValueError(f'"{text}" is not a duration (expected {_EXAMPLES})')
        number, unit = match.groups()
        if unit in units:
            raise ValueError(f'"{text}" is not a duration: the unit "{unit}" appears twice')
        units.add(unit)
        total += float(number) * UNIT_SECONDS[unit]
        position = match.end()
    if not units:
        raise ValueError(f'"{text}" is not a duration (expected {_EXAMPLES})')
    return total
