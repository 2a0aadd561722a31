"""The operators of a generated job DAG: run the job, then emit success / failure assets."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from openfn_airflow.dags.credentials import load_configuration
from openfn_airflow.dags.inputs import (
    RunInput,
    TaskTrigger,
    claimed_inputs,
    message_inputs,
    plan_runs,
    retry_inputs,
    run_key,
    unqueued_message_ids,
)
from openfn_airflow.runtime import ExitCode, RunResult, run_job
from openfn_airflow.runtime.redaction import masker, redact, secret_values
from openfn_airflow.store import runs
from openfn_airflow.store.database import connect_patiently
from openfn_airflow.store.errors import DatabaseUnavailable, StoreError

FAILED_STATUSES = ("failed", "killed", "crashed", "lost")
#: Where a run's log and states are shown: Airflow's task log points there and copies nothing of
#: the job's log, which may hold message payload that retention could not reach in log files.
RUN_PAGE = "/openfn/ui/runs/{run_id}"
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


def job_memory_limit() -> int:
    """``[openfn] job_memory_limit``: MB a job may take beyond its task process (0: none)."""
    from airflow.configuration import conf

    return max(0, conf.getint("openfn", "job_memory_limit", fallback=1024))


def database_wait() -> float:
    """``[openfn] database_wait``: seconds a job task waits for the ledger's database to come
    back (a restart, a failover) before it fails."""
    from airflow.configuration import conf

    return max(0.0, conf.getfloat("openfn", "database_wait", fallback=120.0))


def connect_to_ledger(log: Any) -> Any:
    """A connection to the ledger, waiting ``database_wait`` seconds for the database if need be."""

    def retrying(error: DatabaseUnavailable, pause: float) -> None:
        log.warning(
            "The ledger's database is unavailable (%s); trying again in %.1f s", error, pause
        )

    return connect_patiently(wait=database_wait(), on_retry=retrying)


def task_lock_key(ti: Any) -> str:
    """Names one task instance (all its attempts) for the ledger's task lock."""
    return f"openfn-task:{ti.dag_id}:{ti.run_id}:{ti.task_id}:{getattr(ti, 'map_index', -1)}"


def mark_unfinished_runs(context: Any) -> None:
    """Failure callback of the job task: runs it left 'running' lost their process (exit 5).

    Airflow calls it also when the task process was killed (out of memory, worker lost), where
    the operator itself could not record anything.
    """
    ti = context["ti"]
    key = task_lock_key(ti)
    with connect_to_ledger(log) as conn:
        if not runs.try_task_lock(conn, key):
            # Airflow gave up on a task process that still runs (it lost its heartbeat with
            # its worker or scheduler): that process records its runs itself.
            log.warning("The task's process still runs its jobs: its runs are left to it")
            return
        runs.mark_unfinished_runs(conn, dag_id=ti.dag_id, dag_run_id=ti.run_id)
        conn.commit()  # closing the connection releases the lock


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
        trigger_kind: str = "",
        credential: str | None = None,
        job_timeout: float | None = None,
        console: bool = True,
        test_mode: bool = False,
        batched: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batched = batched
        self.project = project
        self.job = job
        self.job_file = job_file
        self.trigger_kind = trigger_kind
        self.credential = credential
        self.job_timeout = job_timeout
        self.console = console
        self.test_mode = test_mode

    def execute(self, context: Any) -> list[int]:
        ti = context["ti"]
        failures: list[str] = []
        ledger_ids: list[int] = []
        conn = connect_to_ledger(self.log)
        try:
            self._hold_task_lock(conn, ti)
            inputs = self._plan(conn, context, ti)
            conn.commit()
            configuration = self._configuration(inputs)
            for run_input in inputs:
                run_id, result, conn = self._perform(conn, context, ti, run_input, configuration)
                ledger_ids.append(run_id)
                if result.exit_code != ExitCode.SUCCESS:
                    # Not the error itself: it may quote the message (a KeyError, a 422 body).
                    failures.append(f"run {run_id}: {result.status}, exit {int(result.exit_code)}")
        finally:
            conn.close()  # and the task lock with it: a waiting attempt starts now
        if failures:
            raise AirflowFailException(
                f"{len(failures)} of {len(ledger_ids)} OpenFn run(s) failed: "
                + "; ".join(failures[:5])
                + f" (their logs: {RUN_PAGE.format(run_id='<id>')})"
            )
        return ledger_ids

    def _hold_task_lock(self, conn, ti: Any) -> None:
        """Wait until no earlier attempt of this task instance still runs jobs, then hold the lock.

        A scheduler or worker that dies leaves its task processes running (each has its own
        process group), and Airflow starts the task again: the new attempt waits for the old one
        rather than run the same message's job twice at once.
        """
        key = task_lock_key(ti)
        if not runs.try_task_lock(conn, key):
            self.log.warning("An earlier attempt of this task still runs: waiting until it ends")
            runs.wait_task_lock(conn, key)

    def _plan(self, conn, context: Any, ti: Any) -> list[RunInput]:
        """Decide the runs of this attempt: repeats of a cleared task, claimed or new runs."""
        if ti.try_number > 1:
            runs.mark_unfinished_runs(conn, dag_id=ti.dag_id, dag_run_id=ti.run_id)
            latest = runs.latest_attempts(conn, dag_id=ti.dag_id, dag_run_id=ti.run_id)
            if latest:
                # Cleared after it succeeded, the task repeats its runs; after a failure, or when
                # Airflow lost the attempt (a dead scheduler or worker), only those that did not
                # succeed: a run the lost attempt finished is not run again.
                previous = runs.previous_try_state(
                    conn,
                    dag_id=ti.dag_id,
                    run_id=ti.run_id,
                    task_id=ti.task_id,
                    map_index=getattr(ti, "map_index", -1),
                    try_number=ti.try_number - 1,
                )
                return retry_inputs(conn, latest, all_when_all_succeeded=previous == "success")
        trigger = task_trigger(self.trigger_kind, context)
        if not (self.batched and trigger.kind == "message" and trigger.run_type != "manual"):
            return plan_runs(conn, self.project, self.job, trigger)
        # Batched: take every pending run of the job, also those whose asset event Airflow
        # folded into an earlier DAG run or left for a later one.
        claimed = runs.claim_pending_runs(
            conn,
            project=self.project,
            job=self.job,
            dag_id=ti.dag_id,
            dag_run_id=ti.run_id,
            task_id=ti.task_id,
            try_number=ti.try_number,
            bundle_version=bundle_version(context),
        )
        inputs = claimed_inputs(conn, claimed)
        unqueued = unqueued_message_ids(trigger.event_extras)
        return inputs + message_inputs(conn, unqueued, "message", project=self.project)

    def _configuration(self, inputs: list[RunInput]) -> dict[str, Any] | None:
        if not self.credential:
            return None
        try:
            return load_configuration(self.credential)
        except Exception as exc:  # a missing connection fails every run with exit 3
            reason = f"credential {self.credential!r} could not be loaded: {type(exc).__name__}"
            for run_input in inputs:
                run_input.problem = run_input.problem or reason
            return None

    def _perform(
        self, conn, context: Any, ti: Any, run_input: RunInput, configuration: dict[str, Any] | None
    ) -> tuple[int, RunResult, Any]:
        """Run one input; return its ledger id, its result and the connection to go on with."""
        # What is stored (and so shown, exported, handed to success / failure jobs) has the
        # credential's values masked wherever they are; the job still gets the state as it is.
        stored_state = redact(
            run_input.initial_state, masker(secret_values(configuration) if configuration else [])
        )
        if run_input.ledger_id is not None:  # claimed: already committed as running
            run_id = run_input.ledger_id
            runs.set_initial_state(conn, run_id, stored_state)
        else:
            run_id = runs.start_run(
                conn,
                project=self.project,
                job=self.job,
                trigger=run_input.trigger,
                message_id=run_input.message_id,
                dag_id=ti.dag_id,
                dag_run_id=ti.run_id,
                task_id=ti.task_id,
                try_number=ti.try_number,
                map_index=getattr(ti, "map_index", -1),
                initial_state=stored_state,
                retry_of=run_input.retry_of,
                upstream_run_id=run_input.upstream_run_id,
                bundle_version=bundle_version(context),
            )
            conn.commit()  # the run is visible as running while the job executes
        self.log.info(
            "OpenFn run %s of %s/%s (%s)", run_id, self.project, self.job, run_input.trigger
        )
        if run_input.problem is not None:
            result = RunResult(
                exit_code=ExitCode.COULD_NOT_START,
                status="crashed",
                log=f"Could not start: {run_input.problem}\n",
                final_state=None,
                error=run_input.problem,
                duration=0.0,
            )
            self.log.error("Could not start: %s", run_input.problem)
        else:
            result = run_job(
                self.job_file,
                run_input.initial_state or {},
                configuration=configuration,
                timeout=self.job_timeout,
                memory_limit_mb=job_memory_limit(),
                console=self.console,
                test_mode=self.test_mode,
                # No echo: the job's log goes to the ledger only, where retention reaches it.
            )
        conn = self._record(conn, run_id, result)
        self.log.info(
            "OpenFn run %s finished: %s (exit %s); its log: %s",
            run_id,
            result.status,
            int(result.exit_code),
            RUN_PAGE.format(run_id=run_id),
        )
        return run_id, result, conn

    def _record(self, conn, run_id: int, result: RunResult) -> Any:
        """Save the run's outcome and return the connection to go on with.

        When the database went away, the outcome is saved on a new connection once it is back
        (``database_wait``); when saving fails otherwise, exit code 4 without the final state.
        """
        try:
            self._save(conn, run_id, result)
            return conn
        except DatabaseUnavailable:
            conn.close()
            self.log.warning(
                "OpenFn run %s finished (%s) while the database was away: saving it once it is back",
                run_id,
                result.status,
            )
            conn = connect_to_ledger(self.log)
            try:
                self._save(conn, run_id, result)
                return conn
            except StoreError as exc:
                error: StoreError = exc
        except StoreError as exc:
            error = exc
        conn.rollback()
        problem = f"the run finished ({result.status}) but its record could not be saved: {error}"
        # The database's words may quote the state (PostgreSQL's JSON errors do): they go to the
        # run's log only.
        self.log.error(
            "OpenFn run %s finished (%s) but its record could not be saved (%s): see %s",
            run_id,
            result.status,
            type(error).__name__,
            RUN_PAGE.format(run_id=run_id),
        )
        result.exit_code, result.status, result.error = ExitCode.NOT_SAVED, "crashed", problem
        result.final_state = None
        result.log = f"{result.log}\n{problem}\n"
        self._save(conn, run_id, result)
        return conn

    @staticmethod
    def _save(conn, run_id: int, result: RunResult) -> None:
        runs.finish_run(
            conn,
            run_id,
            status=result.status,
            exit_code=int(result.exit_code),
            log=result.log,
            final_state=result.final_state,
        )
        conn.commit()


class EmitRunEventsOperator(BaseOperator):
    """Emit this job's success or failure asset once per ledger run of this DAG run that ended so.

    Each event's partition key names the ledger run (``run-<id>``), so every upstream run starts
    exactly one run of each downstream job. Skipped when no run ended that way.
    """

    ui_color = "#f1f8e9"
    template_fields: Sequence[str] = ()

    def __init__(self, *, outcome: str, project: str, job: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outcome = outcome
        self.project = project
        self.job = job

    def execute(self, context: Any) -> list[int]:
        ti = context["ti"]
        with connect_to_ledger(self.log) as conn:
            if self.outcome == "failure":
                runs.mark_unfinished_runs(conn, dag_id=ti.dag_id, dag_run_id=ti.run_id)
            latest = runs.latest_attempts(conn, dag_id=ti.dag_id, dag_run_id=ti.run_id)
            conn.commit()
        wanted = ("success",) if self.outcome == "success" else FAILED_STATUSES
        ids = [row["id"] for row in latest if row["status"] in wanted]
        if not ids:
            raise AirflowSkipException(f"no run of this DAG run ended in {self.outcome}")
        for outlet in self.outlets:
            accessor = context["outlet_events"][outlet]
            accessor.extra = {"project": self.project, "job": self.job, "outcome": self.outcome}
            accessor.add_partitions([run_key(i) for i in ids])
        self.log.info("Emitted %s for runs %s", self.outcome, ids)
        return ids
