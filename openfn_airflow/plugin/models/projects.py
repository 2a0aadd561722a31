"""Response models of the projects API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Project(BaseModel):
    name: str
    created_at: dt.datetime
    inbox_url: str | None = Field(
        description="Where systems POST messages; null unless the caller may edit DAGs."
    )


class ProjectList(BaseModel):
    items: list[Project]


class DayUsage(BaseModel):
    day: dt.date
    total: int
    runs: dict[str, int] = Field(description="Runs created that day (UTC) per status.")


class Queue(BaseModel):
    """Work of the project not finished yet."""

    pending_runs: int = Field(description="Ledger runs waiting in a batched or auto job's queue.")
    running_runs: int = Field(description="Ledger runs executing now.")
    dag_runs_queued: int = Field(description="DAG runs of its jobs waiting to start.")
    dag_runs_running: int
    undispatched: int = Field(description="Inbox deliveries not turned into asset events yet.")


class MonthPace(BaseModel):
    """The current month's runs so far, projected to its end, against the previous month."""

    month: str = Field(description="The current month (UTC), YYYY-MM.")
    runs_so_far: int
    projected: int = Field(description="runs_so_far at the pace of the month's elapsed part.")
    previous_month: str
    previous_month_runs: int
    ratio: float | None = Field(
        description="projected / previous_month_runs; null when the previous month had none."
    )


class ProjectUsage(BaseModel):
    project: str
    since: dt.date
    days: list[DayUsage] = Field(description="Every day of the last 12 months, oldest first.")
    pace: MonthPace
    queue: Queue


InboxState = Literal["open", "protected", "closed"]
INBOX_STATE_DESCRIPTION = (
    "open: anyone with the inbox URL can send (no method was ever added, or it was opened); "
    "protected: requests need an active method; closed: its methods were all revoked, so it "
    "refuses every request until a method is added or it is opened (POST .../inbox/open)."
)


class AuthMethod(BaseModel):
    """An inbox auth method, never with its secret."""

    id: int
    kind: Literal["api_key", "basic", "webhook"]
    username: str | None = Field(description="The basic-auth user name; null for other kinds.")
    secret_hint: str | None = Field(
        description="An API key's or signing secret's last four characters, to tell them apart; "
        "null for basic auth (no part of a password is shown: the user name tells them apart)."
    )
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None = Field(description="Updated at most once a minute.")


class AuthMethodList(BaseModel):
    items: list[AuthMethod]
    inbox: InboxState = Field(description=INBOX_STATE_DESCRIPTION)


class RevokedAuthMethod(BaseModel):
    id: int
    inbox: InboxState = Field(description=INBOX_STATE_DESCRIPTION)
    message: str = Field(description="What the inbox does now, and how to open it when closed.")


class OpenedInbox(BaseModel):
    project: str
    inbox: Literal["open"]
    message: str


class NewAuthMethod(BaseModel):
    """What to add: an API key, a basic-auth user or a Standard Webhooks signing secret."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["api_key", "basic", "webhook"]
    username: str | None = Field(None, description="Required for basic auth.")
    password: str | None = Field(
        None, description="Basic auth only; 8 to 128 characters. Generated when omitted."
    )


class CreatedAuthMethod(BaseModel):
    method: AuthMethod
    secret: str = Field(description="The key, password or signing secret: shown this once only.")
