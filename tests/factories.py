"""Rows for tests, with defaults a test overrides only where its point lies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from openfn_airflow.store import messages, runs

_FINISH_FIELDS = ("status", "exit_code", "log", "final_state")


def make_message(conn: psycopg.Connection, **overrides: Any) -> dict[str, Any]:
    """Insert a message and return its row; keyword arguments are ``insert_message``'s."""
    fields: dict[str, Any] = {
        "project": "demo",
        "body": {"formID": "patient_registration", "name": "Ada"},
        "headers": {"content-type": "application/json"},
        "method": "POST",
        "path": "/openfn/inbox/demo",
    }
    fields.update(overrides)
    row = messages.get_message(conn, messages.insert_message(conn, **fields))
    assert row is not None
    return row


def make_run(conn: psycopg.Connection, **overrides: Any) -> dict[str, Any]:
    """Insert a run and return its row.

    Keyword arguments are ``start_run``'s, plus ``status`` / ``exit_code`` / ``log`` /
    ``final_state``: any of these finishes the run (``status`` defaults to success, exit code 0).
    """
    finish = {name: overrides.pop(name) for name in _FINISH_FIELDS if name in overrides}
    fields: dict[str, Any] = {
        "project": "demo",
        "job": "echo",
        "trigger": "manual",
        "initial_state": {"data": {}, "references": []},
    }
    fields.update(overrides)
    run_id = runs.start_run(conn, **fields)
    if finish and finish.get("status", "success") != "running":
        status = finish.get("status", "success")
        runs.finish_run(
            conn,
            run_id,
            status=status,
            exit_code=finish.get("exit_code", 0 if status == "success" else 1),
            log=finish.get("log", ""),
            final_state=finish.get("final_state", fields["initial_state"]),
        )
    row = runs.get_run(conn, run_id)
    assert row is not None
    return row


def serialize_dags(folder: Path, dag_file: str) -> dict[str, Any]:
    """Parse ``folder/dag_file`` and write its DAGs to Airflow's tables, as the dag-processor
    does (``dag.test()`` runs the serialized DAG); return the parsed DAGs by id."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(folder / dag_file), bundle_path=folder)
    assert bag.dags and not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    return bag.dags
