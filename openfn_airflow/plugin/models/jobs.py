"""Request and response models of the jobs API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from openfn_airflow.plugin.models.common import Filters

TriggerKind = Literal["message", "cron", "success", "failure", "manual"]


class JobQuery(Filters):
    project: str | None = None
    q: str | None = Field(
        default=None, max_length=200, description="Part of the job's name (case-insensitive)."
    )
    trigger: str | None = Field(
        default=None, max_length=200, description="Part of the trigger's name (case-insensitive)."
    )


class JobTrigger(BaseModel):
    name: str | None = Field(description="The trigger's name; null for a job run by hand only.")
    kind: TriggerKind
    criteria: Any = Field(default=None, description="Message filter (jsonb containment).")
    exclude: Any = Field(default=None, description="Message filter exclusion.")
    cron: str | None = None
    timezone: str | None = None
    schedule: str | None = Field(default=None, description="The cron expression in words.")
    next_runs: list[dt.datetime] = Field(
        default_factory=list, description="The cron's next times (UTC)."
    )
    upstream: str | None = Field(
        default=None, description="The job whose success or failure runs it."
    )
    upstream_archived: bool = Field(
        default=False, description="The upstream job is archived: this trigger never fires."
    )


class JobLastRun(BaseModel):
    id: int
    status: str
    exit_code: int | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_at: dt.datetime
    dag_id: str | None
    dag_run_id: str | None


class JobSwitch(BaseModel):
    by: Literal["spec", "user"] = Field(
        description="spec: a change of the spec's `enabled`; user: Airflow's REST API (the Jobs "
        "screen, Airflow's own UI)."
    )
    on: bool = Field(description="What it switched the job to (as it is now).")
    at: dt.datetime
    user: str | None = Field(default=None, description="Who, when by is user.")


class Job(BaseModel):
    project: str
    name: str
    dag_id: str = Field(description="Its DAG's id; an archived job's runs keep it.")
    archived: bool = Field(
        default=False,
        description="archived: true in the spec: no DAG, no message delivered; its runs are "
        "kept. Removing archived: true restores it under the same DAG id.",
    )
    trigger: JobTrigger
    enabled: bool = Field(
        description="The spec's `enabled`, applied to the DAG when it changes (a new DAG starts so)."
    )
    is_paused: bool | None = Field(
        description="Airflow's DAG is paused: the job is off. Null: Airflow has no DAG it runs "
        "for the job (not parsed yet, stale, or the job is archived)."
    )
    switched: JobSwitch | None = Field(
        default=None, description="Who switched the job to its state last; null: not known."
    )
    autoprocess: bool
    runs: str = Field(description="auto, per-message or batched")
    test_mode: bool | None = Field(description="null when the spec cannot be read")
    console: bool | None = Field(description="null when the spec cannot be read")
    credential: str | None = None
    language: str | None = Field(
        default=None, description="python or javascript; null when the spec cannot be read"
    )
    adaptors: list[str] = Field(
        default_factory=list, description="A JavaScript job's pinned adaptors (name@version)."
    )
    last_run: JobLastRun | None = Field(
        description="Its latest run; null: never run, or (archived) not visible to the caller."
    )


class JobList(BaseModel):
    items: list[Job]
    total: int
