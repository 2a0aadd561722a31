"""The job task's connection to the run ledger: the task lock, and saving runs through an outage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openfn_airflow.runtime import ExitCode, RunResult
from openfn_airflow.store import runs
from openfn_airflow.store.errors import DatabaseUnavailable, StoreError

#: Where a run's log and states are shown: Airflow's task log points there and copies nothing of
#: the job's log, which may hold message payload that retention could not reach in log files.
RUN_PAGE = "/openfn/ui/runs/{run_id}"


class LedgerConnection:
    """One connection for the whole task, holding its task lock as long as it is open.

    ``connect`` opens a connection, waiting for the database as long as the task may
    (``[openfn] database_wait``); it is called again when the database went away.
    """

    def __init__(self, connect: Callable[[], Any], lock_key: str, log: Any) -> None:
        self._connect = connect
        self.lock_key = lock_key
        self.log = log
        self.conn = connect()

    def close(self) -> None:
        """Close the connection, and release the task lock with it: a waiting attempt starts."""
        self.conn.close()

    def hold_task_lock(self) -> None:
        """Wait until no earlier attempt of this task instance still runs jobs, then hold the lock.

        A scheduler or worker that dies leaves its task processes running (each has its own
        process group), and Airflow starts the task again: the new attempt waits for the old one
        rather than run the same message's job twice at once.
        """
        if not runs.try_task_lock(self.conn, self.lock_key):
            self.log.warning("An earlier attempt of this task still runs: waiting until it ends")
            runs.wait_task_lock(self.conn, self.lock_key)

    def record(self, run_id: int, result: RunResult) -> None:
        """Save the run's outcome; ``result`` is changed to what was saved.

        When the database went away, the outcome is saved on a new connection once it is back;
        when saving fails otherwise, exit code 4 without the final state.
        """
        try:
            self._save(run_id, result)
            return
        except DatabaseUnavailable:
            self.conn.close()
            self.log.warning(
                "OpenFn run %s finished (%s) while the database was away: saving it once it is back",
                run_id,
                result.status,
            )
            self.conn = self._connect()
            self._take_lock_again()
            try:
                self._save(run_id, result)
                return
            except StoreError as exc:
                error: StoreError = exc
        except StoreError as exc:
            error = exc
        self.conn.rollback()
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
        self._save(run_id, result)

    def _take_lock_again(self) -> None:
        # The lock went with the lost session; the failure callback and later attempts read it
        # to tell whether this process still runs its jobs.
        if not runs.try_task_lock(self.conn, self.lock_key):
            self.log.warning(
                "Another attempt of this task took its lock while the database was away"
            )

    def _save(self, run_id: int, result: RunResult) -> None:
        runs.finish_run(
            self.conn,
            run_id,
            status=result.status,
            exit_code=int(result.exit_code),
            log=result.log,
            final_state=result.final_state,
        )
        self.conn.commit()
