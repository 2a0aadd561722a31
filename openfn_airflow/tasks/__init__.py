"""The job task's protocol, Airflow-free: between the runtime's engines and the operator in dags/.

``JobTask.run(identity, trigger)`` holds the task lock, plans the attempt's runs, opens the
job's engine once and records every run in the ledger, through a database outage. Nothing here
imports Airflow: the operator translates Airflow's context into these plain values.
"""

from __future__ import annotations

from openfn_airflow.tasks.identity import TaskIdentity
from openfn_airflow.tasks.inputs import RunInput, TaskTrigger, parse_run_key, run_key, runs_key
from openfn_airflow.tasks.ledger import RUN_PAGE
from openfn_airflow.tasks.outcomes import runs_ended_in
from openfn_airflow.tasks.protocol import JobTask, TaskOutcome, mark_unfinished_runs

__all__ = [
    "RUN_PAGE",
    "JobTask",
    "RunInput",
    "TaskIdentity",
    "TaskOutcome",
    "TaskTrigger",
    "mark_unfinished_runs",
    "parse_run_key",
    "run_key",
    "runs_ended_in",
    "runs_key",
]
