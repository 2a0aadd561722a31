"""Response model of ``GET /openfn/health``: timings and status of the canary only."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class Component(BaseModel):
    status: Literal["healthy", "unhealthy"]


class Stages(BaseModel):
    """The round trip's steps, in ms; a step whose row is gone (Airflow's history cleaned) is null."""

    inbox_to_dispatch: int | None = Field(description="Received by the inbox -> dispatched.")
    dispatch_to_queued: int | None = Field(description="Dispatched -> DAG run queued.")
    queued_to_start: int | None = Field(description="DAG run queued -> the job's run started.")
    run: int | None = Field(description="The receiving job's run, start to end.")


class Health(BaseModel):
    canary: Literal["on", "off"] = Field(description="[openfn] canary.")
    status: Literal["off", "never", "ok", "late", "failing", "paused"] = Field(
        description="late and failing answer 503, as does a database that does not answer."
    )
    database: Component
    interval_s: int = Field(description="Seconds between two canary messages.")
    round_trip_ms: int | None = Field(
        description="The last canary message's round trip: received by the inbox -> its run ended."
    )
    measured_at: dt.datetime | None = Field(description="When that run ended.")
    message_id: int | None = Field(description="The canary message it was measured on.")
    stages_ms: Stages | None
    failed_job: str | None = Field(description="The canary job whose newest run failed.")
