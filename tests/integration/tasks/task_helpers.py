"""Helpers of the job task's protocol tests: the real ledger, plain task values, a fake engine.

The fake engine stands in only where the engine is not what a test is about; it answers each run
from a function of the run's state, so a test says what the job "does" in one line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from openfn_airflow.runtime import RunResult, status_for
from openfn_airflow.runtime.engines import JobCode
from openfn_airflow.store import runs
from openfn_airflow.store.queries import execute
from openfn_airflow.tasks import JobTask, TaskIdentity, TaskTrigger

PROJECT = "demo"
JOB = "echo"
DAG_ID = f"openfn__{PROJECT}__{JOB}"
FAKE_RAN_WITH = "Fake 1.0 (tests)"


def result(exit_code: int = 0, final_state: dict | None = None, log: str = "") -> RunResult:
    return RunResult(
        exit_code=exit_code,
        status=status_for(exit_code),
        log=f"Ran with {FAKE_RAN_WITH}\n{log}",
        final_state=final_state if exit_code == 0 else None,
        error=None if exit_code == 0 else "failed",
        duration=0.0,
    )


@dataclass
class FakeEngine:
    """An engine whose job is ``job(state) -> RunResult``; records what it was asked."""

    job: Callable[[dict[str, Any]], RunResult] = lambda state: result(0, {**state, "ran": True})
    could_not_start: str | None = None
    opened: list[dict[str, Any] | None] = field(default_factory=list)
    closed: int = 0
    states: list[dict[str, Any]] = field(default_factory=list)

    @contextmanager
    def open(self, code: JobCode, configuration: dict[str, Any] | None) -> Iterator[Any]:
        from openfn_airflow.runtime.engines import CouldNotStart

        self.opened.append(configuration)
        if self.could_not_start:
            raise CouldNotStart(self.could_not_start)
        try:
            yield _FakeSession(self)
        finally:
            self.closed += 1


class _FakeSession:
    ran_with = FAKE_RAN_WITH

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def run(self, state: dict[str, Any] | None) -> RunResult:
        self.engine.states.append(dict(state or {}))
        return self.engine.job(dict(state or {}))


def job_task(connect, engine=None, *, code: JobCode | None = None, **overrides: Any) -> JobTask:
    fields: dict[str, Any] = {
        "project": PROJECT,
        "job": JOB,
        "code": code or JobCode("jobs/echo.py"),
        "connect": connect,
        "engine": engine,
    }
    fields.update(overrides)
    return JobTask(**fields)


def identity(dag_run: str = "run-1", try_number: int = 1, **overrides: Any) -> TaskIdentity:
    fields: dict[str, Any] = {
        "dag_id": DAG_ID,
        "run_id": dag_run,
        "task_id": "run",
        "try_number": try_number,
    }
    fields.update(overrides)
    return TaskIdentity(**fields)


def on_messages(ids: list[int], *, queued: bool = False) -> TaskTrigger:
    """The trigger of a DAG run started by one asset event naming these messages."""
    extra: dict[str, Any] = {"message_ids": ids}
    if queued:
        extra["queued"] = True
    return TaskTrigger(kind="message", run_type="asset_triggered", event_extras=(extra,))


def queue(conn, ids: list[int]) -> None:
    """Pending runs of the batched job, as the dispatcher writes them with the asset event."""
    execute(conn, "queue_runs", project=PROJECT, job=JOB, message_ids=ids)
    conn.commit()


def ledger(conn) -> list[dict[str, Any]]:
    """Every run of the job, oldest first, with log and states."""
    conn.rollback()
    rows = runs.list_runs(conn, project=PROJECT, job=JOB, limit=1000)
    return [runs.get_run(conn, row["id"]) for row in reversed(rows)]


class Gate:
    """A job that stops at the gate until the test opens it: an attempt still running."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()

    def job(self, state: dict[str, Any]) -> RunResult:
        self.reached.set()
        assert self.opened.wait(30), "the test never opened the gate"
        return result(0, {**state, "ran": True})
