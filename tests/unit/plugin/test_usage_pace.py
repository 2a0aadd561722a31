"""The month's pace on the usage screen: runs so far, projected to the month's end, vs last month."""

from __future__ import annotations

import datetime as dt

from openfn_airflow.plugin.routers.projects import month_pace


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_ten_days_into_a_thirty_day_month_the_runs_so_far_are_tripled():
    totals = {dt.date(2026, 11, 3): 10, dt.date(2026, 11, 8): 20, dt.date(2026, 10, 31): 40}
    totals[dt.date(2026, 10, 1)] = 50
    totals[dt.date(2026, 9, 30)] = 999  # two months ago: in neither figure
    pace = month_pace(totals, at("2026-11-11T00:00:00"))
    assert (pace.month, pace.runs_so_far, pace.projected) == ("2026-11", 30, 90)
    assert (pace.previous_month, pace.previous_month_runs, pace.ratio) == ("2026-10", 90, 1.0)


def test_january_compares_with_december_and_a_quiet_previous_month_has_no_ratio():
    pace = month_pace({dt.date(2027, 1, 1): 4}, at("2027-01-16T12:00:00"))
    assert (pace.previous_month, pace.previous_month_runs, pace.ratio) == ("2026-12", 0, None)
    assert pace.projected == 8  # half of January gone


def test_the_first_minutes_of_a_month_do_not_project_a_storm():
    pace = month_pace({dt.date(2026, 12, 1): 2}, at("2026-12-01T00:01:00"))
    assert pace.projected == 2 * 31 * 24  # as if an hour had passed, not one minute
