"""The typed project: what a valid `project.yaml` describes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from openfn_airflow.spec.problems import Problem

TriggerKind = Literal["message", "cron", "success", "failure"]
FlowKind = Literal["success", "failure"]
Runs = Literal["auto", "per-message", "batched"]

ASSET_SCHEME = "openfn"


def project_pool(project: str) -> str:
    """The name of a project's Airflow pool (``concurrency:`` at the project's top level)."""
    return f"openfn__{project}"


def job_dag_id(project: str, job: str) -> str:
    """The id of a job's DAG (``dags.factory.dag_id_for`` builds DAGs with the same)."""
    return f"openfn__{project}__{job}"


@dataclass(frozen=True)
class Trigger:
    """What starts a job: a message filter, a cron schedule, or another job's success/failure."""

    name: str
    kind: TriggerKind
    criteria: dict | list | None = None  # message filter inclusion (jsonb containment)
    exclude: dict | list | None = None  # optional exclusion
    cron: str | None = None
    timezone: str = "UTC"
    upstream: str | None = None  # job name for success/failure triggers

    def __hash__(self) -> int:  # criteria are dicts; hash their canonical JSON instead
        return hash(
            (
                self.name,
                self.kind,
                json.dumps(self.criteria, sort_keys=True),
                json.dumps(self.exclude, sort_keys=True),
                self.cron,
                self.timezone,
                self.upstream,
            )
        )


@dataclass(frozen=True)
class Job:
    """One job of a project; it becomes the DAG `openfn__<project>__<job>`."""

    name: str
    file: Path  # absolute, resolved, inside the project folder
    trigger: str | None  # trigger name (None: run by hand only)
    credential: str | None = None  # Airflow connection id
    autoprocess: bool = True
    runs: Runs = "auto"
    timeout: float | None = None  # seconds
    concurrency: int | None = None
    console: bool = True
    test_mode: bool = False
    enabled: bool = True
    archived: bool = False
    owner: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    #: Exact adaptor packages of a JavaScript job, e.g. ``("@openfn/language-http@7.2.10",)``;
    #: ``@latest`` is resolved when the spec is loaded. Empty for Python jobs.
    adaptors: tuple[str, ...] = ()

    @property
    def language(self) -> str:
        """``javascript`` for a ``.js`` job file, else ``python``."""
        return "javascript" if self.file.suffix in (".js", ".mjs") else "python"


@dataclass(frozen=True)
class ArchivedJob:
    """A job its spec keeps with ``archived: true``: it has no DAG and gets no message.

    Its runs stay in the ledger under its DAG id; removing ``archived: true`` restores it under
    the same DAG id, so they are its history again.
    """

    job: Job
    trigger: Trigger | None  # what it listened to (a trigger that reads cleanly), else None

    @property
    def name(self) -> str:
        return self.job.name


@dataclass(frozen=True)
class Retention:
    """How long a project's activity is kept, in seconds; None keeps it forever.

    The maintenance DAG (``openfn__maintenance``) deletes messages received and runs created
    longer ago than these.
    """

    messages: float | None = None
    runs: float | None = None

    @property
    def keeps_everything(self) -> bool:
        return self.messages is None and self.runs is None


@dataclass(frozen=True)
class Project:
    """A loaded spec: its triggers, its valid jobs, and the problems found (lenient loading)."""

    name: str
    spec_path: Path  # absolute path of project.yaml
    root: Path  # its folder
    inbox_id: str | None
    triggers: dict[str, Trigger]
    jobs: dict[str, Job]  # only valid, non-archived jobs
    problems: tuple[Problem, ...] = ()
    #: What is worth knowing but not wrong (a trigger on an archived job never fires).
    notes: tuple[Problem, ...] = ()
    #: The archived jobs whose entries read cleanly, by name (never in ``jobs``).
    archived: dict[str, ArchivedJob] = field(default_factory=dict)
    retention: Retention = Retention()
    #: At most this many runs of the project's jobs at once (an Airflow pool); None: no limit.
    concurrency: int | None = None

    def __hash__(self) -> int:
        return hash((self.name, self.spec_path))

    @property
    def pool(self) -> str | None:
        """The Airflow pool the project's job tasks share when it has a concurrency."""
        return project_pool(self.name) if self.concurrency else None

    def trigger_of(self, job: Job) -> Trigger | None:
        """Return the trigger `job` listens to, or None for a job run by hand only."""
        return self.triggers.get(job.trigger) if job.trigger else None

    def trigger_asset_uri(self, trigger_name: str) -> str:
        return f"{ASSET_SCHEME}://{self.name}/triggers/{trigger_name}"

    def success_asset_uri(self, job_name: str) -> str:
        return f"{ASSET_SCHEME}://{self.name}/jobs/{job_name}/success"

    def failure_asset_uri(self, job_name: str) -> str:
        return f"{ASSET_SCHEME}://{self.name}/jobs/{job_name}/failure"

    def downstream_of(self, job_name: str, kind: FlowKind) -> list[Job]:
        """Return the jobs that run when `job_name` ends with `kind`, sorted by name."""
        found = []
        for job in self.jobs.values():
            trigger = self.trigger_of(job)
            if trigger is not None and trigger.kind == kind and trigger.upstream == job_name:
                found.append(job)
        return sorted(found, key=lambda job: job.name)
