"""Which Airflow task attempt a job task is, as plain values (no Airflow objects)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskIdentity:
    """One attempt of one Airflow task instance."""

    dag_id: str
    run_id: str  # the DAG run's id
    task_id: str
    map_index: int = -1
    try_number: int = 1
    #: How Airflow recorded attempt ``try_number - 1`` ("success", "failed", ...); None: read it
    #: from Airflow's ``task_instance_history`` in the ledger's database when it is needed.
    previous_try_state: str | None = None

    @property
    def lock_key(self) -> str:
        """Names the task instance (all its attempts) for the ledger's task lock."""
        return f"openfn-task:{self.dag_id}:{self.run_id}:{self.task_id}:{self.map_index}"
