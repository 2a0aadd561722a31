"""The job task's protocol needs no Airflow: it imports and runs a job with ``airflow`` blocked."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from task_helpers import ledger

pytestmark = pytest.mark.integration

SCRIPT = """
import importlib, json, pkgutil, sys
from functools import partial

sys.modules["airflow"] = None  # from here on, any `import airflow...` raises ImportError

import openfn_airflow.tasks as tasks
for module in pkgutil.walk_packages(tasks.__path__, "openfn_airflow.tasks."):
    importlib.import_module(module.name)
from openfn_airflow.runtime.engines import JobCode
from openfn_airflow.store.database import connect_patiently

task = tasks.JobTask(
    project="demo", job="echo", code=JobCode(sys.argv[2]),
    connect=partial(connect_patiently, sys.argv[1], wait=5.0),
)
outcome = task.run(
    tasks.TaskIdentity("openfn__demo__echo", "manual__free", "run"),
    tasks.TaskTrigger(kind="", run_type="manual", params={"state": {"hello": "world"}}),
)
print(json.dumps({"ids": outcome.ledger_ids, "failures": outcome.failures}))
"""
JOB = (
    "from openfn_airflow.runtime import fn\n\n"
    "operations = [fn(lambda state: {**state, 'greeted': state['hello']})]\n"
)


def test_the_protocol_imports_and_runs_a_python_job_without_airflow(
    conn, clean_db, db_url, tmp_path
):
    job = tmp_path / "echo.py"
    job.write_text(JOB)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, db_url, str(job)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    [row] = ledger(conn)
    assert answer == {"ids": [row["id"]], "failures": []}
    assert (row["status"], row["trigger"]) == ("success", "manual")
    assert row["final_state"]["greeted"] == "world"
    assert row["ran_with"].startswith("Python ")
