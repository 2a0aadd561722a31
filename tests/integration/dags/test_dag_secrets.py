"""A job that copies its credential around leaves no trace of it in what the ledger keeps.

The job runs for real (``dag.test()``) with the ``fake_api`` connection (password
``s3cret-pa55``); it copies the password under ``state["x"]["token"]`` and into a longer string.
Neither the ledger row (states, log), nor what the success and failure jobs start from, nor the
runs CSV holds it.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from factories import serialize_dags

from openfn_airflow.store import runs
from openfn_airflow.store.filters import RunFilter
from openfn_airflow.store.run_search import export_runs
from openfn_airflow.tasks.inputs import TaskTrigger, plan_runs, run_key

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SECRET = "s3cret-pa55"  # the fake_api connection's password (tests/integration/conftest.py)
# What a trace of it looks like: as is, and as the Basic token of login:password.
TRACES = (SECRET, base64.b64encode(f"openfn:{SECRET}".encode()).decode())

PROJECT = """
project: leaky
triggers:
  leak-done: {success: leak}
  leak-failed: {failure: leak}
jobs:
  leak:
    file: jobs/leak.py
    credential: fake_api
  after-success: {file: jobs/echo.py, trigger: leak-done}
  after-failure: {file: jobs/echo.py, trigger: leak-failed}
"""
LEAK_JOB = """
import base64

from openfn_airflow.runtime import fn


def leak(state):
    config = state["configuration"]
    secret = config["password"]
    basic = base64.b64encode(f"{config['username']}:{secret}".encode()).decode()
    print(f"calling with Bearer {secret}")
    state = {
        **state,
        "x": {"token": secret},
        "headers": {"Authorization": f"Bearer {secret}", "Basic": f"Basic {basic}"},
        "references": [*state["references"], {"copy": dict(config)}],
        # the job itself saw the real credential, not a masked one
        "saw_real_secret": state.get("note") == f"Bearer {secret}",
    }
    if state.get("fail"):
        raise RuntimeError(f"refused: Bearer {secret}")
    return state


operations = [fn(leak)]
"""
ECHO_JOB = """
from openfn_airflow.runtime import fn

operations = [fn(lambda state: {**state, "echoed": True})]
"""


@pytest.fixture(scope="module")
def leaky_dags(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leaky-dags")
    shutil.copy2(REPO / "dags" / "openfn_jobs.py", folder)
    (folder / "leaky" / "jobs").mkdir(parents=True)
    (folder / "leaky" / "project.yaml").write_text(PROJECT)
    (folder / "leaky" / "jobs" / "leak.py").write_text(LEAK_JOB)
    (folder / "leaky" / "jobs" / "echo.py").write_text(ECHO_JOB)
    return serialize_dags(folder, "openfn_jobs.py")


def assert_no_trace(what: str, value: object) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    for trace in TRACES:
        assert trace not in text, f"{what} holds the credential: {text[:2000]}"


def leak_run(leaky_dags, conn, **state) -> dict:
    # A manual run whose Trigger form state holds the secret too (pasted by someone).
    leaky_dags["openfn__leaky__leak"].test(
        run_conf={"state": {"note": f"Bearer {SECRET}", **state}}
    )
    conn.rollback()
    [summary] = runs.list_runs(conn, project="leaky", job="leak", limit=1)
    row = runs.get_run(conn, summary["id"])
    assert row is not None
    return row


def handover(conn, row: dict, job: str, kind: str) -> dict:
    trigger = TaskTrigger(kind=kind, run_type="asset_triggered", partition_key=run_key(row["id"]))
    [run_input] = plan_runs(conn, "leaky", job, trigger)
    assert run_input.problem is None and run_input.upstream_run_id == row["id"]
    return run_input.initial_state


def test_a_copied_credential_is_masked_in_the_ledger_and_the_success_handover(
    leaky_dags, conn, clean_db, fake_api
):
    row = leak_run(leaky_dags, conn)

    assert (row["status"], row["exit_code"]) == ("success", 0), row["log"]
    assert row["final_state"]["saw_real_secret"] is True
    assert row["final_state"]["x"] == {"token": "***"}
    assert row["final_state"]["headers"]["Authorization"] == "Bearer ***"
    assert row["initial_state"]["note"] == "Bearer ***"
    assert "calling with Bearer ***" in row["log"]
    for column in ("initial_state", "final_state", "log"):
        assert_no_trace(f"the ledger's {column}", row[column])

    success_state = handover(conn, row, "after-success", "success")
    assert success_state["x"] == {"token": "***"}
    assert_no_trace("the success job's initial state", success_state)

    csv = b"".join(export_runs(conn, RunFilter(project="leaky"))).decode()
    assert str(row["id"]) in csv
    assert_no_trace("the runs CSV", csv)
    stored = conn.execute("SELECT json_agg(r)::text AS rows FROM openfn_run AS r").fetchone()
    assert_no_trace("openfn_run", stored["rows"])


def test_a_failed_run_hands_the_failure_job_no_trace_of_the_credential(
    leaky_dags, conn, clean_db, fake_api
):
    row = leak_run(leaky_dags, conn, fail=True)

    assert (row["status"], row["exit_code"]) == ("failed", 1)
    assert "refused: Bearer ***" in row["log"]
    failure_state = handover(conn, row, "after-failure", "failure")
    assert failure_state["note"] == "Bearer ***"
    assert failure_state["error"] == row["log"]
    assert_no_trace("the failure job's initial state", failure_state)
    stored = conn.execute("SELECT json_agg(r)::text AS rows FROM openfn_run AS r").fetchone()
    assert_no_trace("openfn_run", stored["rows"])
