"""The operators of a generated job DAG: run the job, then emit success / failure assets.

They translate Airflow's context into the plain values of the job task's protocol
(``openfn_airflow.tasks``) and its outcome into Airflow's task states; the protocol itself (task
lock, planning, start / run / record, the database retry) lives there, Airflow-free.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from openfn_airflow.dags.credentials import load_configuration
from openfn_airflow.dags.settings import (
    adaptors_path,
    auto_batch_max,
    cursor_max_bytes,
    database_wait,
    job_memory_limit,
)
from openfn_airflow.runtime.engines import JobCode
from openfn_airflow.store.database import connect_patiently
from openfn_airflow.store.errors import DatabaseUnavailable
from openfn_airflow.tasks import (
    RUN_PAGE,
    JobTask,
    TaskIdentity,
    TaskTrigger,
    run_key,
    runs_ended_in,
    runs_key,
)
from openfn_airflow.tasks import mark_unfinished_runs as mark_unfinished

log = logging.getLogger(__name__)


def task_trigger(kind: str, context: Any) -> TaskTrigger:
    """Describe what started this task from Airflow's context."""
    dag_run = context["dag_run"]
    partition_key = context.get("partition_key") or getattr(dag_run, "partition_key", None)
    # One trigger asset serves per-message jobs (events with a partition key) and batched jobs
    # (events without): keep only the events meant for this run.
    extras: list[dict[str, Any]] = []
    events = context.get("triggering_asset_events") or {}
    for asset in events:
        extras.extend(
            dict(event.extra or {})
            for event in events[asset]
            if (getattr(event, "partition_key", None) or None) == partition_key
        )
    run_type = getattr(dag_run.run_type, "value", dag_run.run_type)
    return TaskTrigger(
        kind=kind,
        run_type=str(run_type),
        params=dict(context.get("params") or {}),
        partition_key=partition_key,
        event_extras=tuple(extras),
    )


def task_identity(context: Any) -> TaskIdentity:
    """This attempt of this task instance, from Airflow's context.

    How Airflow recorded the previous attempt is left for the protocol to read from the ledger's
    database (Airflow's ``task_instance_history``): the task SDK does not hand it to the task.
    """
    ti = context["ti"]
    return TaskIdentity(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=getattr(ti, "map_index", -1),
        try_number=getattr(ti, "try_number", 1) or 1,
    )


def bundle_version(context: Any) -> str | None:
    """The version (a git commit) of the DAG bundle this task runs from; None for the DAGs folder.

    The task SDK's DAG run has no ``bundle_version``: the task runner keeps the bundle it loaded
    the DAG from, at the DAG run's version, as ``ti.bundle_instance``.
    """
    version = getattr(context.get("dag_run"), "bundle_version", None)
    if version:
        return str(version)
    bundle = getattr(context.get("ti"), "bundle_instance", None)
    version = getattr(bundle, "version", None)
    return str(version) if version else None


def connect_to_ledger(log: Any) -> Any:
    """A connection to the ledger, waiting ``database_wait`` seconds for the database if need be."""

    def retrying(error: DatabaseUnavailable, pause: float) -> None:
        log.warning(
            "The ledger's database is unavailable (%s); trying again in %.1f s", error, pause
        )

    return connect_patiently(wait=database_wait(), on_retry=retrying)


def task_lock_key(ti: Any) -> str:
    """Names one task instance (all its attempts) for the ledger's task lock."""
    return task_identity({"ti": ti}).lock_key


def mark_unfinished_runs(context: Any) -> None:
    """Failure callback of the job task: runs it left 'running' lost their process (exit 5).

    Airflow calls it also when the task process was killed (out of memory, worker lost), where
    the operator itself could not record anything.
    """
    mark_unfinished(partial(connect_to_ledger, log), task_identity(context))


class OpenFnJobOperator(BaseOperator):
    """Run one OpenFn job for every input this DAG run carries, one ledger row per input.

    The task fails (red in the grid) when any of its runs fails; the runs' outcomes, logs and
    final states are in the run ledger either way.
    """

    ui_color = "#e8f0fe"
    template_fields: Sequence[str] = ()

    def __init__(
        self,
        *,
        project: str,
        job: str,
        job_file: str,
        adaptors: Sequence[str] = (),
        trigger_kind: str = "",
        credential: str | None = None,
        job_timeout: float | None = None,
        console: bool = True,
        test_mode: bool = False,
        runs: str = "per-message",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.runs = runs
        self.project = project
        self.job = job
        self.job_file = job_file
        self.adaptors = tuple(adaptors)
        self.trigger_kind = trigger_kind
        self.credential = credential
        self.job_timeout = job_timeout
        self.console = console
        self.test_mode = test_mode

    def job_code(self) -> JobCode:
        """The job as its engine runs it, with this process's memory limit and adaptors folder."""
        return JobCode(
            self.job_file,
            adaptors=self.adaptors,
            timeout=self.job_timeout,
            memory_limit_mb=job_memory_limit(),
            console=self.console,
            test_mode=self.test_mode,
            adaptors_path=adaptors_path(),
        )

    def execute(self, context: Any) -> list[int]:
        task = JobTask(
            project=self.project,
            job=self.job,
            code=self.job_code(),
            connect=partial(connect_to_ledger, self.log),
            credential=self.credential,
            load_configuration=load_configuration,
            batched=self.runs in ("batched", "auto"),
            batch_max=auto_batch_max() if self.runs == "auto" else None,
            cursor_max_bytes=cursor_max_bytes(),
            log=self.log,
        )
        outcome = task.run(
            task_identity(context),
            task_trigger(self.trigger_kind, context),
            bundle_version(context),
        )
        if outcome.failures:
            raise AirflowFailException(
                f"{len(outcome.failures)} of {len(outcome.ledger_ids)} OpenFn run(s) failed: "
                + "; ".join(outcome.failures[:5])
                + f" (their logs: {RUN_PAGE.format(run_id='<id>')})"
            )
        return outcome.ledger_ids


class EmitRunEventsOperator(BaseOperator):
    """Emit this job's success or failure asset once per ledger run of this DAG run that ended so.

    Each event's partition key names the ledger run (``run-<id>``), so every upstream run starts
    exactly one run of each downstream job. Skipped when no run ended that way.
    """

    ui_color = "#f1f8e9"
    template_fields: Sequence[str] = ()

    def __init__(
        self,
        *,
        outcome: Literal["success", "failure"],
        project: str,
        job: str,
        fold: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.outcome: Literal["success", "failure"] = outcome
        self.project = project
        self.job = job
        #: Every job downstream is ``runs: auto``: the runs of a DAG run that carried several
        #: messages start one DAG run downstream, each still its own OpenFn run there.
        self.fold = fold

    def execute(self, context: Any) -> list[int]:
        ti = context["ti"]
        ids = runs_ended_in(
            partial(connect_to_ledger, self.log), self.outcome, dag_id=ti.dag_id, run_id=ti.run_id
        )
        if not ids:
            raise AirflowSkipException(f"no run of this DAG run ended in {self.outcome}")
        extra: dict[str, Any] = {"project": self.project, "job": self.job, "outcome": self.outcome}
        keys = [run_key(i) for i in ids]
        if self.fold and len(ids) > 1:
            extra["run_ids"] = ids
            keys = [runs_key(ids)]
        for outlet in self.outlets:
            accessor = context["outlet_events"][outlet]
            accessor.extra = extra
            accessor.add_partitions(keys)
        self.log.info("Emitted %s for runs %s", self.outcome, ids)
        return ids
