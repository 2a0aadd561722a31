"""Jobs run for real through ``dag.test()``: ledger rows with the right exit codes, logs, states."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from factories import make_message, serialize_dags

from openfn_airflow.store import runs

pytestmark = pytest.mark.integration

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def core_dags():
    from openfn_airflow.dags.loader import load_dags

    return load_dags(PROJECTS)


def run_dag(core_dags, job: str, **conf):
    dag = core_dags[f"openfn__core__{job}"]
    return dag.test(run_conf=conf or None)


def ledger(conn, job: str) -> list[dict]:
    conn.rollback()
    return [runs.get_run(conn, row["id"]) for row in reversed(runs.list_runs(conn, job=job))]


def test_message_run_succeeds_and_records_final_state(core_dags, conn, clean_db, fake_api):
    message_id = make_message(conn, project="core", body={"form": "intake", "name": "Ada"})["id"]
    conn.commit()
    run_dag(core_dags, "intake", message_id=message_id)
    [row] = ledger(conn, "intake")
    assert row["status"] == "success" and row["exit_code"] == 0
    assert row["message_id"] == message_id
    assert row["initial_state"]["data"] == {"form": "intake", "name": "Ada"}
    assert row["final_state"]["patient_id"] > 1000
    assert "configuration" not in row["final_state"]
    assert "configuration" not in row["initial_state"]
    assert "intake of Ada" in row["log"]
    assert "s3cret-pa55" not in row["log"]
    assert row["dag_id"] == "openfn__core__intake" and row["try_number"] == 1


def test_a_message_with_files_names_them_in_the_state_without_their_bytes(
    core_dags, conn, clean_db
):
    from odk import PHOTO, PHOTO_NAME, SIGNATURE, SIGNATURE_NAME

    from openfn_airflow.inbox.multipart import Attachment
    from openfn_airflow.store import attachments

    body = {"data": {"form": "visit", "photo": PHOTO_NAME}}
    message_id = make_message(conn, project="core", body=body)["id"]
    attachments.add_attachments(
        conn,
        message_id,
        [
            Attachment(PHOTO_NAME, PHOTO_NAME, "image/jpeg", PHOTO),
            Attachment(SIGNATURE_NAME, SIGNATURE_NAME, "image/png", SIGNATURE),
        ],
    )
    conn.commit()

    run_dag(core_dags, "not-listening", message_id=message_id)

    [row] = ledger(conn, "not-listening")
    assert row["status"] == "success", row["log"]
    assert row["initial_state"]["data"] == body
    photo, signature = row["initial_state"]["request"]["attachments"]
    assert photo == {
        "position": 1,
        "name": PHOTO_NAME,
        "field": PHOTO_NAME,
        "content_type": "image/jpeg",
        "size": len(PHOTO),
        "sha256": Attachment(PHOTO_NAME, None, "", PHOTO).sha256,
        "url": f"/openfn/api/v1/messages/{message_id}/attachments/1",
    }
    assert signature["name"] == SIGNATURE_NAME and signature["size"] == len(SIGNATURE)
    assert "JFIF" not in str(row["initial_state"]) and "JFIF" not in str(row["final_state"])


def test_a_message_without_files_has_no_attachments_in_its_state(core_dags, conn, clean_db):
    message_id = make_message(conn, project="core", body={"form": "visit"})["id"]
    conn.commit()

    run_dag(core_dags, "not-listening", message_id=message_id)

    [row] = ledger(conn, "not-listening")
    assert "attachments" not in row["initial_state"]["request"]


def test_job_error_is_exit_1(core_dags, conn, clean_db, fake_api):
    message_id = make_message(conn, project="core", body={"form": "intake", "invalid": True})["id"]
    conn.commit()
    dag_run = run_dag(core_dags, "intake", message_id=message_id)
    [row] = ledger(conn, "intake")
    assert row["status"] == "failed" and row["exit_code"] == 1
    assert "422" in row["log"]
    assert row["final_state"] is None
    # The job is auto, its emits run whatever the run task's state: the DAG run is still failed
    # in Airflow's grid, and only the failure event went out.
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "failed"
    assert states == {"run": "failed", "emit_failure": "success", "emit_success": "skipped"}


def test_timeout_is_exit_2(core_dags, conn, clean_db):
    run_dag(core_dags, "slow")
    [row] = ledger(conn, "slow")
    assert row["exit_code"] == 2 and row["status"] == "killed"
    assert "going to sleep" in row["log"]  # logs up to the timeout are kept


@pytest.mark.parametrize("job", ["broken", "bad-import"])
def test_job_file_that_does_not_load_is_exit_10(core_dags, conn, clean_db, job):
    run_dag(core_dags, job)
    [row] = ledger(conn, job)
    assert row["exit_code"] == 10 and row["status"] == "crashed"


def test_console_false_keeps_prints_out_of_every_log(core_dags, conn, clean_db, fake_api, capfd):
    run_dag(core_dags, "quiet")
    [row] = ledger(conn, "quiet")
    assert row["exit_code"] == 0
    assert "SECRET-CHATTER" not in row["log"]
    assert "s3cret-pa55" not in row["log"]
    task_log = capfd.readouterr()  # dag.test() runs the task in-process: its log is our output
    assert "OpenFn run" in task_log.out + task_log.err
    assert "SECRET-CHATTER" not in task_log.out + task_log.err


def test_the_task_log_points_at_the_run_and_copies_nothing_of_its_log(
    core_dags, conn, clean_db, fake_api, capfd
):
    # The job's log may quote the message; Airflow's log files are beyond retention's reach.
    message_id = make_message(conn, project="core", body={"form": "intake", "name": "Grace"})["id"]
    conn.commit()
    run_dag(core_dags, "intake", message_id=message_id)
    [row] = ledger(conn, "intake")
    assert "intake of Grace" in row["log"]
    task_log = capfd.readouterr()
    output = task_log.out + task_log.err
    assert f"OpenFn run {row['id']} finished: success (exit 0)" in output
    assert f"/openfn/ui/runs/{row['id']}" in output
    assert "intake of Grace" not in output and "Grace" not in output
    assert "s3cret-pa55" not in output


def test_a_failed_task_names_its_runs_without_their_errors(
    core_dags, conn, clean_db, fake_api, capfd
):
    message_id = make_message(conn, project="core", body={"form": "intake", "invalid": True})["id"]
    conn.commit()
    run_dag(core_dags, "intake", message_id=message_id)
    [row] = ledger(conn, "intake")
    assert row["exit_code"] == 1 and "422" in row["log"]
    task_log = capfd.readouterr()
    output = task_log.out + task_log.err
    assert f"1 of 1 OpenFn run(s) failed: run {row['id']}: failed, exit 1" in output
    # The error, quoting what the API answered, stays in the run's log.
    assert "patient is invalid" in row["log"] and "patient is invalid" not in output


def test_final_state_that_cannot_be_saved_is_exit_4(core_dags, conn, clean_db):
    run_dag(core_dags, "unsaveable")
    [row] = ledger(conn, "unsaveable")
    assert row["exit_code"] == 4 and row["status"] == "crashed"
    assert "could not be saved" in row["log"]


def test_test_mode_sends_nothing(core_dags, conn, clean_db, fake_api):
    fake_api.received.clear()
    run_dag(core_dags, "dry")
    [row] = ledger(conn, "dry")
    assert row["exit_code"] == 0
    assert fake_api.received == []
    assert "TEST MODE" in row["log"]


def test_manual_state_from_the_trigger_form(core_dags, conn, clean_db):
    run_dag(core_dags, "switched-off", state={"hello": "world"})
    [row] = ledger(conn, "switched-off")
    assert row["trigger"] == "manual"
    assert row["initial_state"]["hello"] == "world"
    assert row["final_state"]["echoed"] is True


def test_cron_cursor_is_carried_to_the_next_run(core_dags, conn, clean_db):
    run_dag(core_dags, "counter")
    run_dag(core_dags, "counter")
    first, second = ledger(conn, "counter")
    assert first["final_state"]["count"] == 1
    assert second["initial_state"]["count"] == 1
    assert second["final_state"]["count"] == 2


CUT_OFF_PROJECT = """
project: cutoff
jobs:
  cut:
    file: jobs/cut.py
"""
# The job ends the task's own database session (the one holding the task lock), as a database
# restart or failover would, just before the run's outcome is saved.
CUT_OFF_JOB = """
import os

import psycopg

from openfn_airflow.runtime import fn


def cut(state):
    url = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("+psycopg2", "")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND pid <> pg_backend_pid() "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    return {**state, "cut": True}


operations = [fn(cut)]
"""


def test_a_run_that_finishes_while_the_database_is_away_is_saved_once_it_is_back(
    tmp_path, conn, clean_db
):
    shutil.copy2(REPO / "dags" / "openfn_jobs.py", tmp_path)
    (tmp_path / "cutoff" / "jobs").mkdir(parents=True)
    (tmp_path / "cutoff" / "project.yaml").write_text(CUT_OFF_PROJECT)
    (tmp_path / "cutoff" / "jobs" / "cut.py").write_text(CUT_OFF_JOB)
    serialize_dags(tmp_path, "openfn_jobs.py")["openfn__cutoff__cut"].test()

    [row] = ledger(conn, "cut")
    assert (row["status"], row["exit_code"]) == ("success", 0)
    assert row["final_state"]["cut"] is True
