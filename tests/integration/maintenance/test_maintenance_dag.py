"""The maintenance DAG as Airflow sees it (DagBag) and runs it (``dag.test()``)."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import CronTriggerTimetable
from airflow_rows import AirflowRows
from factories import make_message, make_run, serialize_dags

from openfn_airflow.maintenance.dag import MAINTENANCE_DAG_ID, build_maintenance_dag, load_projects
from openfn_airflow.store import runs

pytestmark = pytest.mark.integration

REPO_DAGS = Path(__file__).resolve().parents[3] / "dags"
DAG_FILES = ("openfn_jobs.py", "openfn_spec_check.py", "openfn_maintenance.py", ".airflowignore")
DAY = 86400.0

CLINIC = """
    project: clinic
    retention: {messages: 90d, runs: 30d}
    triggers:
      form: {criteria: {form: intake}}
    jobs:
      intake: {file: jobs/echo.py, trigger: form}
"""
ARCHIVE = """
    project: archive
    jobs:
      nightly: {file: jobs/echo.py, trigger: {cron: "0 3 * * *"}}
"""


def dags_folder(tmp_path: Path, projects: dict[str, str]) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in DAG_FILES:
        shutil.copy(REPO_DAGS / name, folder / name)
    for name, spec in projects.items():
        (folder / name / "jobs").mkdir(parents=True)
        (folder / name / "project.yaml").write_text(textwrap.dedent(spec))
        (folder / name / "jobs" / "echo.py").write_text("operations = []\n")
    return folder


def test_the_maintenance_dag_is_in_the_dagbag_daily_one_run_at_a_time(tmp_path):
    bag = DagBag(dags_folder(tmp_path, {"clinic": CLINIC, "archive": ARCHIVE}))

    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(
        [MAINTENANCE_DAG_ID, "openfn__clinic__intake", "openfn__archive__nightly"]
    )
    dag = bag.get_dag(MAINTENANCE_DAG_ID)
    assert Path(dag.fileloc).name == "openfn_maintenance.py"
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.expression == "0 0 * * *"
    assert dag.catchup is False and dag.max_active_runs == 1 and dag.max_active_tasks == 1
    assert dag.is_paused_upon_creation is False
    assert {"openfn", "maintenance"} <= set(dag.tags)
    assert sorted(dag.task_ids) == [
        "clean_airflow_tables",
        "clean_asset_tables",
        "delete_messages",
        "delete_runs",
    ]
    # independent tasks: one failing shows, and does not keep the others from running
    assert all(not task.upstream_task_ids for task in dag.tasks)
    assert dag.get_task("delete_messages").periods == {"archive": None, "clinic": 90 * DAY}
    assert dag.get_task("delete_runs").periods == {"archive": None, "clinic": 30 * DAY}
    assert dag.get_task("clean_airflow_tables").longest_retention_days == 90
    assert "| clinic | 90 days | 30 days |" in dag.doc_md
    assert "| archive | kept forever | kept forever |" in dag.doc_md


def test_a_wrong_retention_is_an_import_error_and_keeps_that_project_whole(tmp_path):
    broken = CLINIC.replace("runs: 30d", "runs: 2h")
    bag = DagBag(dags_folder(tmp_path, {"clinic": broken}))

    [(path, text)] = bag.import_errors.items()
    assert Path(path).name == "openfn_spec_check.py"
    assert "retention.runs" in text and "shorter than a day" in text
    dag = bag.get_dag(MAINTENANCE_DAG_ID)
    assert dag.get_task("delete_runs").periods == {"clinic": None}
    assert dag.get_task("delete_messages").periods == {"clinic": 90 * DAY}


def test_without_projects_the_dag_still_keeps_airflows_tables_bounded(tmp_path):
    bag = DagBag(dags_folder(tmp_path, {}))
    assert bag.import_errors == {}
    dag = bag.get_dag(MAINTENANCE_DAG_ID)
    assert dag.get_task("delete_messages").periods == {}
    assert dag.get_task("clean_airflow_tables").longest_retention_days is None


@pytest.fixture
def rows(db_url: str) -> Iterator[AirflowRows]:
    made = AirflowRows(db_url)
    yield made
    made.remove()


def backdate(conn, table: str, row_id: int, days: float) -> None:
    column = "received_at" if table == "openfn_message" else "created_at"
    conn.execute(
        f"UPDATE {table} SET {column} = now() - make_interval(days => %s) WHERE id = %s",
        [days, row_id],
    )


def test_one_run_of_the_dag_deletes_what_is_past_every_period(
    tmp_path, conn, clean_db, rows, monkeypatch
):
    monkeypatch.delenv("AIRFLOW__OPENFN__AIRFLOW_RETENTION_DAYS", raising=False)
    folder = dags_folder(tmp_path, {"clinic": CLINIC, "archive": ARCHIVE})
    dag = build_maintenance_dag(load_projects(folder))
    # OpenFn's activity
    expired_message = make_message(conn, project="clinic")["id"]
    backdate(conn, "openfn_message", expired_message, 120)
    young_run = make_run(conn, project="clinic", message_id=expired_message, status="success")
    backdate(conn, "openfn_run", young_run["id"], 10)
    expired_run = make_run(conn, project="clinic", status="failed", log="boom")["id"]
    backdate(conn, "openfn_run", expired_run, 45)
    recent_message = make_message(conn, project="clinic")["id"]
    backdate(conn, "openfn_message", recent_message, 60)
    archived_message = make_message(conn, project="archive")["id"]
    backdate(conn, "openfn_message", archived_message, 1000)
    conn.commit()
    # Airflow's history: kept for the longest project period (90 days), partition rows a day
    dag_id, asset = rows.dag("job"), rows.asset("form")
    old_run = rows.dag_run(dag_id, dt.timedelta(days=100))
    old_event = rows.event(asset, dt.timedelta(days=100), partition_key="k")
    rows.consumed(old_run, old_event)
    kept_run = rows.dag_run(dag_id, dt.timedelta(days=60))
    kept_event = rows.event(asset, dt.timedelta(days=60), partition_key="k")
    consumed = rows.partition_run(dag_id, dt.timedelta(days=60), created_dag_run_id=kept_run)
    rows.key_log(consumed, kept_event, asset, dag_id, dt.timedelta(days=60))
    rows.consumed(kept_run, kept_event)

    serialize_dags(folder, "openfn_maintenance.py")  # dag.test() runs the serialized DAG
    dag_run = dag.test()

    assert str(getattr(dag_run.state, "value", dag_run.state)) == "success"
    conn.rollback()
    assert conn.execute("SELECT id FROM openfn_message ORDER BY id").fetchall() == [
        {"id": recent_message},
        {"id": archived_message},
    ]
    assert runs.get_run(conn, expired_run) is None
    assert runs.get_run(conn, young_run["id"])["message_id"] is None
    assert not rows.exists("dag_run", old_run) and not rows.exists("asset_event", old_event)
    assert rows.exists("dag_run", kept_run) and rows.exists("asset_event", kept_event)
    assert rows.link_exists(kept_run, kept_event)
    assert not rows.exists("asset_partition_dag_run", consumed)
