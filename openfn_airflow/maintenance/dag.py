"""The maintenance DAG, ``openfn__maintenance``, built from the retention of every project spec."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from openfn_airflow import canary
from openfn_airflow.dags.factory import DAG_ID_PREFIX, START_DATE
from openfn_airflow.maintenance.activity import BATCH_SIZE
from openfn_airflow.maintenance.operators import (
    DAY_SECONDS,
    CleanAirflowTablesOperator,
    CleanAssetTablesOperator,
    PurgeActivityOperator,
)
from openfn_airflow.spec import Project, SpecError, find_projects, load_project_lenient

MAINTENANCE_DAG_ID = f"{DAG_ID_PREFIX}__maintenance"
SCHEDULE = "@daily"

log = logging.getLogger(__name__)


def load_projects(folder: str | Path) -> list[Project]:
    """Every readable project under ``folder``; when two share a name, the first in path order.

    The DAGs folder has the canary project too when ``[openfn] canary`` is on.
    """
    projects: dict[str, Project] = {}
    specs = find_projects(folder)
    specs += [path for extra in canary.folders_for(folder) for path in find_projects(extra)]
    for spec_path in specs:
        try:
            project = load_project_lenient(spec_path)
        except SpecError:
            continue  # the spec-check DAG file reports it
        projects.setdefault(project.name, project)
    return list(projects.values())


def load_maintenance_dag(folder: str | Path, namespace: dict[str, Any] | None = None) -> DAG:
    """Build the maintenance DAG for the projects under ``folder``; put it in ``namespace``."""
    dag = build_maintenance_dag(load_projects(folder))
    if namespace is not None:
        namespace[dag.dag_id] = dag
    return dag


def build_maintenance_dag(projects: Iterable[Project]) -> DAG:
    """One daily DAG: delete each project's expired messages and runs, and prune Airflow's
    history. Its four tasks are independent (one failing does not stop the others) and run one
    at a time; a project without retention keeps everything."""
    projects = sorted(projects, key=lambda project: project.name)
    messages = {project.name: project.retention.messages for project in projects}
    runs = {project.name: project.retention.runs for project in projects}
    periods = [seconds for seconds in (*messages.values(), *runs.values()) if seconds is not None]
    longest_days = max(periods) / DAY_SECONDS if periods else None
    dag = DAG(
        dag_id=MAINTENANCE_DAG_ID,
        description="OpenFn retention: deletes expired messages, runs and Airflow history",
        schedule=SCHEDULE,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        max_active_tasks=1,
        is_paused_upon_creation=False,
        auto_register=False,
        tags=["openfn", "maintenance"],
        doc_md=_doc(projects),
        default_args={
            "owner": "openfn",
            "retries": 1,
            "retry_delay": dt.timedelta(minutes=5),
        },
    )
    # One at a time, in this order (priority, not dependencies: a failed task must fail the DAG
    # run and still let the others run). The asset cleanup comes before `airflow db clean`:
    # Airflow has no index on asset_partition_dag_run.created_dag_run_id, whose foreign key
    # cascades from dag_run, so every DAG run deleted scans that table; emptied of consumed
    # partitions first, it is small (measured: with 1M partition rows left in place, one batch
    # of 5,000 DAG runs took over 5 minutes). Key log rows of the DAG runs `airflow db clean`
    # deletes then go the next day.
    order = {"weight_rule": "absolute"}
    with dag:
        PurgeActivityOperator(
            task_id="delete_messages",
            kind="messages",
            periods=messages,
            batch_size=BATCH_SIZE,
            priority_weight=4,
            **order,
        )
        PurgeActivityOperator(
            task_id="delete_runs",
            kind="runs",
            periods=runs,
            batch_size=BATCH_SIZE,
            priority_weight=3,
            **order,
        )
        CleanAirflowTablesOperator(
            task_id="clean_airflow_tables",
            longest_retention_days=longest_days,
            batch_size=BATCH_SIZE,
            priority_weight=1,
            **order,
        )
        CleanAssetTablesOperator(
            task_id="clean_asset_tables",
            longest_retention_days=longest_days,
            batch_size=BATCH_SIZE,
            priority_weight=2,
            **order,
        )
    return dag


def _doc(projects: list[Project]) -> str:
    lines = [
        "**OpenFn maintenance** (retention). Daily, each task on its own:",
        "",
        "- `delete_messages`, `delete_runs`: each project's messages and runs older than the "
        "periods of its spec (`retention:`), 5,000 per transaction. A deleted message's runs "
        "stay (status, times, exit code, log), without their message and its payload: their "
        'states become `{"purged": true}`.',
        "- `clean_airflow_tables`: `airflow db clean` over DAG runs, task instances, logs, XComs, "
        "jobs, ... older than `[openfn] airflow_retention_days` (default: the longest project "
        "period, at least 30 days).",
        "- `clean_asset_tables`: consumed partition rows after `[openfn] partition_history_days` "
        "(default 1), and asset events as old as the Airflow history that no DAG waits on.",
        "",
        "| project | messages | runs |",
        "|---|---|---|",
    ]
    for project in projects:
        lines.append(
            f"| {project.name} | {_period(project.retention.messages)} "
            f"| {_period(project.retention.runs)} |"
        )
    return "\n".join(lines) + "\n"


def _period(seconds: float | None) -> str:
    if seconds is None:
        return "kept forever"
    days = seconds / DAY_SECONDS
    return f"{days:g} days"
