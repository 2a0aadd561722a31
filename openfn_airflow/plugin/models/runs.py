"""Request and response models of the runs API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from openfn_airflow.plugin.models.common import (
    DEFAULT_WINDOW,
    Filters,
    Id,
    TimeBound,
    parse_time,
)
from openfn_airflow.store.filters import RunFilter

RunStatus = Literal["pending", "running", "success", "failed", "killed", "crashed", "lost"]


class RunQuery(Filters):
    """Which runs: every filter given must hold."""

    project: str | None = None
    job: str | None = None
    status: list[RunStatus] = Field(default_factory=list, description="Any of these statuses.")
    q: str | None = Field(
        None, max_length=1000, description="Words of the log, each matched as a word prefix."
    )
    after: TimeBound = Field(DEFAULT_WINDOW, description="Created at or after; `all`: no bound.")
    before: TimeBound = Field(None, description="Created before.")
    from_id: Id = Field(None, description="Lowest run id.")
    to_id: Id = Field(None, description="Highest run id.")
    message_id: Id = None

    def to_filter(self, now: dt.datetime) -> RunFilter:
        return RunFilter(
            project=self.project,
            job=self.job,
            statuses=tuple(self.status),
            text=(self.q or "").strip() or None,
            after=parse_time(self.after, now),
            before=parse_time(self.before, now),
            from_id=self.from_id,
            to_id=self.to_id,
            message_id=self.message_id,
        )


class RunExportQuery(RunQuery):
    include_log: bool = Field(False, description="Add each run's whole log as a last column.")


class RunListQuery(RunQuery):
    limit: int = Field(50, ge=1, le=500)
    before_id: Id = Field(None, description="Cursor: the `next` of the previous page.")


class RunSummary(BaseModel):
    id: int
    project: str
    job: str
    message_id: int | None
    trigger: str
    status: str
    exit_code: int | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    retry_of: int | None
    upstream_run_id: int | None
    dag_id: str | None
    dag_run_id: str | None
    try_number: int | None
    created_at: dt.datetime


class RunDetail(RunSummary):
    task_id: str | None
    exit_meaning: str | None = Field(description="What the exit code means.")
    ran_with: str | None = Field(
        None,
        description="What ran it: Python, openfn-airflow and Airflow versions, or Node, "
        "@openfn/runtime and adaptor versions; null when no engine started.",
    )
    log: str
    initial_state: Any
    final_state: Any
    retried_by: list[int] = Field(description="Runs that retried this one, oldest first.")


class RetryRequest(RunQuery):
    dry_run: bool = Field(False, description="Only count what would be retried.")


class RetriedRun(BaseModel):
    run_id: int
    dag_id: str
    dag_run_id: str


class SkippedRun(BaseModel):
    run_id: int
    reason: str


class RetryResult(BaseModel):
    dry_run: bool
    count: int = Field(description="Runs selected for retry.")
    jobs: dict[str, int] = Field(description="Selected runs per job.")
    retried: list[RetriedRun] = Field(description="A new DAG run for each (empty in a dry run).")
    skipped: list[SkippedRun] = Field(description="Selected runs that could not be retried.")
