"""Time bounds of the list filters: relative, ISO, OpenFn v1's typed format, or none."""

from __future__ import annotations

import datetime as dt

import pytest

from openfn_airflow.plugin.models.common import parse_time

NOW = dt.datetime(2026, 5, 31, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - dt.timedelta(days=7)),
        (" 24h ", NOW - dt.timedelta(hours=24)),
        ("15m", NOW - dt.timedelta(minutes=15)),
        ("2w", NOW - dt.timedelta(weeks=2)),
        ("2026-05-01", dt.datetime(2026, 5, 1, tzinfo=dt.UTC)),
        ("2026-05-01 08:30:00", dt.datetime(2026, 5, 1, 8, 30, tzinfo=dt.UTC)),
        ("2026-05-01T08:30:00Z", dt.datetime(2026, 5, 1, 8, 30, tzinfo=dt.UTC)),
        (
            "2026-05-01T08:30:00+02:00",
            dt.datetime(2026, 5, 1, 6, 30, tzinfo=dt.UTC),
        ),
    ],
)
def test_time_bounds(text, expected):
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize("text", [None, "", "all", "ALL"])
def test_no_bound(text):
    assert parse_time(text, NOW) is None


@pytest.mark.parametrize("text", ["yesterday", "7 days", "-7d", "2026-13-01", "1y"])
def test_anything_else_says_what_is_accepted(text):
    with pytest.raises(ValueError, match="7d"):
        parse_time(text, NOW)
