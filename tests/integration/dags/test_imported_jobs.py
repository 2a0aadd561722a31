"""OpenFn exports imported with ``openfn-airflow import`` run here: every job, through Airflow.

The v1 and Lightning fixtures (tests/fixtures/openfn_exports, written from OpenFn's documented
formats) are imported into a DAGs folder; each job's DAG runs once with ``dag.test()`` on a state
given in the Trigger form's conf, against the local fake API, on the real JavaScript engine.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from adaptors import adaptors_repo
from factories import serialize_dags

from openfn_airflow.imports.command import import_export
from openfn_airflow.store import runs

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
EXPORTS = REPO / "tests" / "fixtures" / "openfn_exports"
STATE = {"data": {"name": "Ada", "formID": "patient_registration", "id": 7}, "cursor": "2024"}


@pytest.mark.parametrize("export", ["v1", "lightning"])
def test_every_imported_job_runs(export, tmp_path, conn, clean_db, fake_api, monkeypatch):
    adaptors_repo()
    project, folder, problems = import_export(EXPORTS / export, tmp_path / "project")
    assert problems == []
    # What connections.md asks the user to create: each credential, here pointing at the fake API.
    for conn_id in set(job.credential for job in project.jobs if job.credential):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}",
            json.dumps({"conn_type": "http", "host": fake_api.url, "login": "u", "password": "p"}),
        )
    shutil.copy2(REPO / "dags" / "openfn_jobs.py", tmp_path)
    dags = serialize_dags(tmp_path, "openfn_jobs.py")
    assert dags, "the imported project made no DAG"
    for dag_id, dag in sorted(dags.items()):
        dag.test(run_conf={"state": STATE})
        conn.rollback()
        [row] = [
            runs.get_run(conn, r["id"])
            for r in runs.list_runs(conn, limit=1000)
            if r["dag_id"] == dag_id
        ]
        assert (row["exit_code"], row["status"]) == (0, "success"), row["log"]
        assert row["ran_with"].startswith("Node v")
