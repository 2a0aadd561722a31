"""What the activity history is filtered by: the parameters of the message and run searches.

A field left None does not filter. Every value reaches SQL as a query parameter, never as SQL
text: the searches are static blocks in ``sql/*_search.sql`` whose conditions read
``%(field)s IS NULL OR ...``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

# Statuses that count as "the run failed" when filtering by run state.
FAILED_STATUSES = ("failed", "killed", "crashed", "lost")
RUN_STATES = ("success", "failed", "none")
# Counts stop here: past it a list says "10,000+" instead of scanning everything.
COUNT_CAP = 10_000
# Lists count their matches for at most this long, then say "many": over millions of rows a
# count of a rare filter may read the whole window, while the page itself is quick.
COUNT_BUDGET_MS = 100


def visibility_params(
    projects: tuple[str, ...] | None, jobs: tuple[str, ...] | None
) -> dict[str, list[str] | None]:
    """The ``visible_projects`` / ``visible_jobs`` parameters of the searches (None: all)."""
    return {
        "visible_projects": None if projects is None else list(projects),
        "visible_jobs": None if jobs is None else list(jobs),
    }


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


@dataclass(frozen=True)
class MessageFilter:
    """Which messages a list, count, export or bulk reprocess covers."""

    project: str | None = None
    text: str | None = None  # words of the body's values, each matched as a prefix, all required
    received_after: dt.datetime | None = None
    received_before: dt.datetime | None = None
    from_id: int | None = None
    to_id: int | None = None
    trigger: str | None = None  # name of a message-filter trigger of ``project``
    run_state: str | None = None  # success | failed | none: the latest run (of ``job``)
    job: str | None = None
    # Who is asking may see only these projects' messages and these jobs' runs ("project/job");
    # None: everything. Set from the auth manager (plugin/permissions.py), never from a request.
    visible_projects: tuple[str, ...] | None = None
    visible_jobs: tuple[str, ...] | None = None

    def params(self, criteria: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The query parameters; ``criteria`` / ``exclude`` are the trigger's, looked up first."""
        statuses: list[str] | None = None
        if self.run_state == "success":
            statuses = ["success"]
        elif self.run_state == "failed":
            statuses = list(FAILED_STATUSES)
        return {
            "project": self.project,
            "text": self.text or None,
            "received_after": self.received_after,
            "received_before": self.received_before,
            "from_id": self.from_id,
            "to_id": self.to_id,
            "criteria": _jsonb(criteria),
            "exclude": _jsonb(exclude),
            "job": self.job,
            "latest_statuses": statuses,
            "no_runs": self.run_state == "none",
            **visibility_params(self.visible_projects, self.visible_jobs),
        }


@dataclass(frozen=True)
class RunFilter:
    """Which runs a list, count, export or bulk retry covers."""

    project: str | None = None
    job: str | None = None
    statuses: tuple[str, ...] = field(default_factory=tuple)
    text: str | None = None  # words of the log, each matched as a prefix, all required
    after: dt.datetime | None = None  # created at or after
    before: dt.datetime | None = None
    from_id: int | None = None
    to_id: int | None = None
    message_id: int | None = None
    visible_jobs: tuple[str, ...] | None = None  # as MessageFilter's

    def params(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "job": self.job,
            "statuses": list(self.statuses) or None,
            "text": self.text or None,
            "after": self.after,
            "before": self.before,
            "from_id": self.from_id,
            "to_id": self.to_id,
            "message_id": self.message_id,
            **visibility_params(None, self.visible_jobs),
        }
