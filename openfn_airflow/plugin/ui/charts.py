"""The usage chart: runs per day stacked by status, laid out here and drawn as inline SVG."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from openfn_airflow.plugin.models.projects import DayUsage

# Bottom to top; statuses not listed stack above these.
STACK_ORDER = ("success", "failed", "killed", "crashed", "lost", "running", "pending")
WIDTH, HEIGHT = 720, 180
LEFT, BOTTOM, TOP = 36, 22, 8
RIGHT = 14  # room for the last label, centred under a bar at the edge


@dataclass(frozen=True)
class Segment:
    status: str
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    day: str
    total: int
    x: float
    width: float
    segments: list[Segment]
    label: str | None  # written under the axis: a day (MM-DD) or, over months, a month (Dec)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    baseline: float
    top: float
    peak: int
    bars: list[Bar]
    statuses: list[str]


def usage_chart(days: Sequence[DayUsage]) -> Chart:
    peak = max((day.total for day in days), default=0)
    scale_top = max(peak, 1)
    plot_height = HEIGHT - BOTTOM - TOP
    baseline = HEIGHT - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    seen: list[str] = []
    bars = []
    for index, day in enumerate(days):
        order = [s for s in STACK_ORDER if s in day.runs] + sorted(
            s for s in day.runs if s not in STACK_ORDER
        )
        y = float(baseline)
        segments = []
        for status in order:
            height = day.runs[status] / scale_top * plot_height
            y -= height
            segments.append(Segment(status, day.runs[status], round(y, 2), round(height, 2)))
            if status not in seen:
                seen.append(status)
        bars.append(
            Bar(
                day=day.day.isoformat(),
                total=day.total,
                x=round(LEFT + index * slot + slot * 0.15, 2),
                width=round(slot * 0.7, 2),
                segments=segments,
                label=_label(day.day, index, len(days)),
            )
        )
    statuses = [s for s in STACK_ORDER if s in seen] + [s for s in seen if s not in STACK_ORDER]
    return Chart(WIDTH, HEIGHT, LEFT, baseline, TOP, peak, bars, statuses)


def _label(day: dt.date, index: int, count: int) -> str | None:
    if count > 62:  # months of days: the first of each month, by its name
        return day.strftime("%b") if day.day == 1 else None
    return day.isoformat()[5:] if index % 5 == 0 or index == count - 1 else None
