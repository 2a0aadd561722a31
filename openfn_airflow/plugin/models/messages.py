"""Request and response models of the messages API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from openfn_airflow.inbox.bodies import unstorable
from openfn_airflow.plugin.models.common import DEFAULT_WINDOW, Filters, Id, TimeBound, parse_time
from openfn_airflow.plugin.models.runs import RunSummary
from openfn_airflow.store.filters import MessageFilter


class MessageQuery(Filters):
    """Which messages: every filter given must hold."""

    project: str | None = None
    q: str | None = Field(
        None,
        max_length=1000,
        description="Words of the body's values, each matched as a word prefix, all required.",
    )
    received_after: TimeBound = Field(DEFAULT_WINDOW, description="`all`: no lower bound.")
    received_before: TimeBound = None
    trigger: str | None = Field(
        None, description="Messages whose body matches this message-filter trigger (with project)."
    )
    run_state: Literal["success", "failed", "none"] | None = Field(
        None,
        description="The message's latest run (of `job`, when given) succeeded, failed "
        "(failed, killed, crashed, lost), or there is none.",
    )
    job: str | None = Field(None, description="The job `run_state` looks at.")
    from_id: Id = Field(None, description="Lowest message id.")
    to_id: Id = Field(None, description="Highest message id.")

    def to_filter(self, now: dt.datetime) -> MessageFilter:
        return MessageFilter(
            project=self.project,
            text=(self.q or "").strip() or None,
            received_after=parse_time(self.received_after, now),
            received_before=parse_time(self.received_before, now),
            from_id=self.from_id,
            to_id=self.to_id,
            trigger=self.trigger,
            run_state=self.run_state,
            job=self.job,
        )


class MessageListQuery(MessageQuery):
    limit: int = Field(50, ge=1, le=500)
    before_id: Id = Field(None, description="Cursor: the `next` of the previous page.")


class LatestRun(BaseModel):
    id: int
    job: str
    status: str


class MatchingJob(BaseModel):
    """A job whose trigger matches the message now: it can be run on it by hand."""

    job: str
    dag_id: str
    trigger: str
    autoprocess: bool = Field(description="False: the job does not run on arrival, only by hand.")
    paused: bool = Field(description="The job is switched off: switch it on to run it.")


class WaitingDelivery(BaseModel):
    """A delivery of the message that waits in Airflow: its DAG run has no ledger run yet."""

    dag_id: str
    dag_run_id: str | None = Field(description="Null while the scheduler has not made it yet.")
    state: str = Field(description="queued or running (the DAG run's state).")


class MessageSummary(BaseModel):
    id: int
    project: str
    received_at: dt.datetime
    method: str | None
    path: str | None
    headers: dict[str, Any]
    body: Any
    matched: list[str] = Field(description="Triggers the message was delivered to.")
    latest_run: LatestRun | None
    jobs: list[MatchingJob] = Field(
        default_factory=list, description="Jobs whose trigger matches it now (any switch)."
    )
    waiting: list[WaitingDelivery] = Field(
        default_factory=list, description="Its deliveries queued in Airflow, with no run yet."
    )


class Dispatch(BaseModel):
    trigger: str
    created_at: dt.datetime
    dispatched_at: dt.datetime | None
    attempts: int
    last_error: str | None


class MessageVersion(BaseModel):
    id: int
    body: Any
    changed_by: str | None
    changed_at: dt.datetime


class Attachment(BaseModel):
    """A file that came with the message (an ODK submission's photo, say), without its bytes."""

    position: int = Field(description="Its place among the message's files, from 1.")
    name: str = Field(description="Its file name, unique in the message.")
    field: str | None = Field(description="The form field it came in.")
    content_type: str = Field(description="Its media type as sent.")
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="SHA-256 of its bytes, hex.")
    url: str = Field(description="Where to download it.")


class MessageDetail(MessageSummary):
    query: dict[str, Any] | None
    attachments: list[Attachment] = Field(description="Its files, in the order received.")
    incomplete: bool = Field(
        description="An OpenRosa submission whose last part has not come yet (*isIncomplete*): "
        "its matches are delivered when it does."
    )
    matches_now: list[str] = Field(description="Triggers processing it now would deliver it to.")
    runs: list[RunSummary] = Field(description="Its runs, newest first.")
    dispatches: list[Dispatch] = Field(description="Its deliveries to triggers, newest first.")
    versions: list[MessageVersion] = Field(description="Bodies it had before edits, newest first.")


class MessageEdit(BaseModel):
    body: Any = Field(description="The new body (any JSON value).")

    @field_validator("body")
    @classmethod
    def _storable(cls, body: Any) -> Any:
        # What the inbox refuses is refused here too: PostgreSQL could not store it, or the
        # API could not show it again.
        problem = unstorable(body)
        if problem is not None:
            raise ValueError(problem)
        return body


class EditResult(BaseModel):
    id: int
    changed: bool
    version_id: int | None = Field(description="The kept previous body; null when unchanged.")


class ProcessResult(BaseModel):
    message_id: int
    matched: list[str] = Field(description="Triggers it was delivered to (again).")


class ReprocessRequest(MessageQuery):
    dry_run: bool = Field(False, description="Only count what would be reprocessed.")


class ReprocessResult(BaseModel):
    dry_run: bool
    count: int = Field(description="Messages matching the filters.")
    dispatches: int = Field(description="Deliveries to triggers queued (or that would be).")
    messages_with_matches: int = Field(description="Messages that match a listening trigger.")


class JobRunResult(BaseModel):
    """The DAG run started for one job on one message."""

    message_id: int
    job: str
    dag_id: str
    dag_run_id: str


class MessageRetryRequest(BaseModel):
    message: Literal["as_run", "current"] = Field(
        "as_run",
        description="as_run: the run's own initial state; current: the message as it is now.",
    )


class MessageRetryResult(BaseModel):
    run_id: int = Field(description="The run retried.")
    message: Literal["as_run", "current"]
    dag_id: str
    dag_run_id: str
