"""The job task's protocol: lock, plan, start, run and record every OpenFn run of one attempt.

Airflow-free: the operator (``dags/operators.py``) turns Airflow's context into the plain values
taken here and turns the outcome into Airflow's task state. The job's language is the engine's
business (``runtime/engines.py``): one session per task, one ``session.run`` per ledger run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from openfn_airflow.runtime import ExitCode, RunResult, status_for
from openfn_airflow.runtime.engines import CouldNotStart, Engine, JobCode, Session, engine_for
from openfn_airflow.runtime.redaction import masker, redact, secret_values
from openfn_airflow.store import runs
from openfn_airflow.tasks.cursors import DEFAULT_CURSOR_MAX_BYTES, enforce_cursor_limit
from openfn_airflow.tasks.identity import TaskIdentity
from openfn_airflow.tasks.inputs import RunInput, TaskTrigger
from openfn_airflow.tasks.ledger import RUN_PAGE, LedgerConnection
from openfn_airflow.tasks.planning import plan_attempt

_log = logging.getLogger(__name__)


@dataclass
class TaskOutcome:
    """What one attempt did: its ledger runs, and one line per run that did not succeed."""

    ledger_ids: list[int] = field(default_factory=list)
    #: ``run 7: failed, exit 1``: never the error itself, which may quote the message.
    failures: list[str] = field(default_factory=list)


@dataclass
class JobTask:
    """One OpenFn job as its task runs it: one ledger row per input of the attempt."""

    project: str
    job: str
    code: JobCode
    #: Opens a ledger connection, waiting for the database as long as the task may.
    connect: Callable[[], Any]
    credential: str | None = None  # the connection id named in the spec
    #: ``credential`` -> the job's ``configuration``; raising fails every run with exit 3.
    load_configuration: Callable[[str], dict[str, Any] | None] | None = None
    #: The job has a queue of pending runs its message-triggered DAG runs take from (batched
    #: and auto jobs), at most ``batch_max`` per attempt (None: all).
    batched: bool = False
    batch_max: int | None = None
    engine: Engine | None = None  # default: ``engine_for(code)``
    #: Bytes a cron run's final state may have without references (``[openfn] cursor_max_bytes``).
    cursor_max_bytes: int = DEFAULT_CURSOR_MAX_BYTES
    #: Where the task says what it does (Airflow's task log): never a job's log or state.
    log: Any = _log

    def run(
        self, identity: TaskIdentity, trigger: TaskTrigger, bundle_version: str | None = None
    ) -> TaskOutcome:
        """Perform every run of this attempt; the ledger holds their outcomes either way."""
        outcome = TaskOutcome()
        ledger = LedgerConnection(self.connect, identity.lock_key, self.log)
        try:
            ledger.hold_task_lock()
            inputs = plan_attempt(
                ledger.conn,
                project=self.project,
                job=self.job,
                identity=identity,
                trigger=trigger,
                batched=self.batched,
                bundle_version=bundle_version,
                batch_max=self.batch_max,
            )
            ledger.conn.commit()
            configuration = self._configuration(inputs)
            with ExitStack() as stack:
                session, engine_error = self._open(stack, inputs, configuration)
                for run_input in inputs:
                    run_id, result = self._perform(
                        ledger,
                        identity,
                        bundle_version,
                        run_input,
                        configuration,
                        session,
                        engine_error,
                        cron=trigger.kind == "cron",
                    )
                    outcome.ledger_ids.append(run_id)
                    if result.exit_code != ExitCode.SUCCESS:
                        outcome.failures.append(
                            f"run {run_id}: {result.status}, exit {int(result.exit_code)}"
                        )
        finally:
            ledger.close()  # and the task lock with it: a waiting attempt starts now
        return outcome

    def _configuration(self, inputs: list[RunInput]) -> dict[str, Any] | None:
        if not self.credential or self.load_configuration is None:
            return None
        try:
            return self.load_configuration(self.credential)
        except Exception as exc:  # a missing connection fails every run with exit 3
            reason = f"credential {self.credential!r} could not be loaded: {type(exc).__name__}"
            for run_input in inputs:
                run_input.problem = run_input.problem or reason
            return None

    def _open(
        self, stack: ExitStack, inputs: list[RunInput], configuration: dict[str, Any] | None
    ) -> tuple[Session | None, str | None]:
        """Open the engine once for the task (closed with ``stack``), unless no run can start.

        An engine that cannot run the job at all (no Node, an adaptor not installed) gives every
        run its reason (exit 3); one that fails otherwise, exit 5.
        """
        if all(run_input.problem is not None for run_input in inputs):
            return None, None  # nothing to run: a Node process would start for nothing
        try:
            engine = self.engine or engine_for(self.code)
            return stack.enter_context(engine.open(self.code, configuration)), None
        except CouldNotStart as exc:
            for run_input in inputs:
                run_input.problem = run_input.problem or str(exc)
            self.log.error("Could not start the job: %s", exc)
            return None, None
        except Exception as exc:
            # Only the type: an unexpected error's words may hold the credential.
            error = f"the {self.code.language} engine failed to start: {type(exc).__name__}"
            self.log.error("Unexpected error: %s", error)
            return None, error

    def _perform(
        self,
        ledger: LedgerConnection,
        identity: TaskIdentity,
        bundle_version: str | None,
        run_input: RunInput,
        configuration: dict[str, Any] | None,
        session: Session | None,
        engine_error: str | None,
        *,
        cron: bool = False,
    ) -> tuple[int, RunResult]:
        """Start, run and record one input; return its ledger id and its result as saved.

        ``cron``: the job's trigger is a cron, so a run not on a message may be the next run's
        cursor and its final state must fit the cursor limit.
        """
        conn = ledger.conn
        # What is stored (and so shown, exported, handed to success / failure jobs) has the
        # credential's values masked wherever they are; the job still gets the state as it is.
        stored_state = redact(
            run_input.initial_state, masker(secret_values(configuration) if configuration else [])
        )
        will_run = run_input.problem is None and session is not None
        ran_with = session.ran_with if will_run and session is not None else None
        if run_input.ledger_id is not None:  # claimed: already committed as running
            run_id = run_input.ledger_id
            runs.set_initial_state(conn, run_id, stored_state, ran_with=ran_with)
            conn.commit()  # its state is kept should the task process die while it runs
        else:
            run_id = runs.start_run(
                conn,
                project=self.project,
                job=self.job,
                trigger=run_input.trigger,
                message_id=run_input.message_id,
                dag_id=identity.dag_id,
                dag_run_id=identity.run_id,
                task_id=identity.task_id,
                try_number=identity.try_number,
                map_index=identity.map_index,
                initial_state=stored_state,
                retry_of=run_input.retry_of,
                upstream_run_id=run_input.upstream_run_id,
                bundle_version=bundle_version,
                ran_with=ran_with,
            )
            conn.commit()  # the run is visible as running while the job executes
        self.log.info(
            "OpenFn run %s of %s/%s (%s)", run_id, self.project, self.job, run_input.trigger
        )
        if run_input.problem is not None:
            self.log.error("Could not start: %s", run_input.problem)
            result = _not_run(ExitCode.COULD_NOT_START, "Could not start", run_input.problem)
        elif session is None:
            result = _not_run(ExitCode.UNEXPECTED, "Unexpected error", engine_error or "")
        else:
            # No echo: the job's log goes to the ledger only, where retention reaches it.
            result = _run(session, run_input.initial_state)
            if cron and run_input.message_id is None:
                reason = enforce_cursor_limit(result, self.cursor_max_bytes)
                if reason is not None:
                    self.log.error("OpenFn run %s: %s", run_id, reason)
        ledger.record(run_id, result)
        self.log.info(
            "OpenFn run %s finished: %s (exit %s); its log: %s",
            run_id,
            result.status,
            int(result.exit_code),
            RUN_PAGE.format(run_id=run_id),
        )
        return run_id, result


def _not_run(exit_code: ExitCode, what: str, reason: str) -> RunResult:
    return RunResult(
        exit_code=exit_code,
        status=status_for(exit_code),
        log=f"{what}: {reason}\n",
        final_state=None,
        error=reason,
        duration=0.0,
    )


def _run(session: Session, state: dict[str, Any] | None) -> RunResult:
    try:
        return session.run(state)
    except Exception as exc:  # the contract says never; a bug must not leave the run 'running'
        reason = f"{type(exc).__name__} in the engine"
        return _not_run(ExitCode.UNEXPECTED, "Unexpected runtime error", reason)


def mark_unfinished_runs(connect: Callable[[], Any], identity: TaskIdentity) -> list[int]:
    """After the task failed: runs it left 'running' lost their process (exit 5); their ids.

    Airflow calls it also when the task process was killed (out of memory, worker lost), where
    the task itself could not record anything. A process that still runs (Airflow lost its
    heartbeat) holds the task lock: its runs are left to it.
    """
    conn = connect()
    try:
        if not runs.try_task_lock(conn, identity.lock_key):
            _log.warning("The task's process still runs its jobs: its runs are left to it")
            return []
        marked = runs.mark_unfinished_runs(conn, dag_id=identity.dag_id, dag_run_id=identity.run_id)
        conn.commit()
        return marked
    finally:
        conn.close()  # and the lock with it
