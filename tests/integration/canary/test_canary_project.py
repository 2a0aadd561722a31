"""The built-in canary project: built by the DAGs folder's openfn_jobs.py only when
``[openfn] canary`` is on, registered by the inbox, kept to its retention, with its jobs as
the health check expects them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import CronTriggerTimetable
from croniter import croniter
from psycopg.rows import dict_row

from openfn_airflow import canary
from openfn_airflow.canary.sending import canary_body
from openfn_airflow.spec import load_project, validate_path

pytestmark = pytest.mark.integration

REPO_DAGS = Path(__file__).resolve().parents[3] / "dags"
SEND = f"openfn__{canary.PROJECT}__{canary.SEND_JOB}"
RECEIVE = f"openfn__{canary.PROJECT}__{canary.RECEIVE_JOB}"


@pytest.fixture
def dags_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGs folder of its own holding the repo's job DAG file, the example project and the
    maintenance DAG file, set as [core] dags_folder."""
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in ("openfn_jobs.py", "openfn_maintenance.py", ".airflowignore"):
        shutil.copy(REPO_DAGS / name, folder / name)
    shutil.copytree(REPO_DAGS / "example", folder / "example")
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(folder))
    return folder


def parse(folder: Path, dag_file: str = "openfn_jobs.py") -> DagBag:
    bag = DagBag(dag_folder=str(folder / dag_file), bundle_path=folder)
    assert not bag.import_errors, bag.import_errors
    return bag


def test_the_shipped_spec_is_valid_and_its_cron_is_the_interval():
    [(_, problems)] = validate_path(canary.project_folder())
    assert problems == []
    project = load_project(canary.project_folder() / "project.yaml")
    assert project.name == canary.PROJECT
    assert set(project.jobs) == set(canary.JOBS)
    send = project.trigger_of(project.jobs[canary.SEND_JOB])
    receive = project.trigger_of(project.jobs[canary.RECEIVE_JOB])
    assert send is not None and receive is not None
    assert receive.name == canary.TRIGGER and receive.kind == "message"
    times = croniter(send.cron, 0)
    assert times.get_next() == canary.INTERVAL_SECONDS and times.get_next() == 600
    # retention applies: the canary's 288 messages a day do not pile up
    assert project.retention.messages and project.retention.runs


def test_its_filter_matches_its_message_and_nothing_else(conn):
    """The jsonb containment the inbox matches with, in PostgreSQL."""
    criteria = load_project(canary.project_folder() / "project.yaml").triggers[canary.TRIGGER]
    bodies = [canary_body(), {"formID": "patient_registration"}, {"openfn_canary": "x"}, [1]]
    matched = [
        conn.execute(
            "SELECT %s::jsonb @> %s::jsonb AS m", [json.dumps(b), json.dumps(criteria.criteria)]
        ).fetchone()["m"]
        for b in bodies
    ]
    assert matched == [True, False, False, False]


def test_off_by_default_the_dags_folder_builds_no_canary(dags_folder):
    bag = parse(dags_folder)
    assert not [d for d in bag.dag_ids if canary.PROJECT in d]
    assert "openfn__example__register-patient" in bag.dag_ids


def test_on_the_dags_folder_builds_its_two_jobs(dags_folder, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "True")

    bag = parse(dags_folder)

    assert {SEND, RECEIVE} <= set(bag.dag_ids)
    send, receive = bag.dags[SEND], bag.dags[RECEIVE]
    assert isinstance(send.timetable, CronTriggerTimetable)
    assert send.timetable.expression == "*/5 * * * *"
    assert f"openfn://{canary.PROJECT}/triggers/{canary.TRIGGER}" in str(receive.timetable)
    assert not send.is_paused_upon_creation and not receive.is_paused_upon_creation
    # the job files are the package's own
    assert Path(send.get_task("run").job_file).is_relative_to(canary.project_folder())
    # the example project is as it was
    assert len([d for d in bag.dag_ids if d.startswith("openfn__example__")]) == 7


def test_another_folder_never_builds_it(tmp_path, dags_folder, monkeypatch):
    """A git bundle's own openfn_jobs.py must not define the canary's DAGs a second time."""
    monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "True")
    other = tmp_path / "bundle"
    shutil.copytree(dags_folder, other)

    bag = parse(other)

    assert not [d for d in bag.dag_ids if canary.PROJECT in d]


def test_a_project_of_the_folder_named_like_it_keeps_its_name(dags_folder, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "True")
    mine = dags_folder / "mine"
    (mine / "jobs").mkdir(parents=True)
    (mine / "jobs" / "mine.py").write_text("operations = []\n")
    (mine / "project.yaml").write_text(
        f"project: {canary.PROJECT}\njobs:\n  mine: {{file: jobs/mine.py}}\n"
    )

    bag = parse(dags_folder)

    assert [d for d in bag.dag_ids if canary.PROJECT in d] == [f"openfn__{canary.PROJECT}__mine"]


def test_its_retention_is_in_the_maintenance_dag(dags_folder, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "True")

    dag = parse(dags_folder, "openfn_maintenance.py").dags["openfn__maintenance"]

    assert dag.get_task("delete_messages").periods[canary.PROJECT] == 7 * 86400
    assert dag.get_task("delete_runs").periods[canary.PROJECT] == 7 * 86400
    monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "False")
    dag = parse(dags_folder, "openfn_maintenance.py").dags["openfn__maintenance"]
    assert canary.PROJECT not in dag.get_task("delete_messages").periods


def test_the_registry_has_it_while_it_is_on(db_url, clean_db, dags_folder, monkeypatch):
    """What the api-server's dispatcher syncs: its trigger matches; off, it matches nothing."""
    from openfn_airflow.bundles import folders
    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store import registry

    monkeypatch.setattr(folders, "_listed", {})
    monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "True")
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        listing = folders.spec_folders(dags_folder)
        assert listing.folders == (dags_folder, canary.project_folder())
        assert canary.PROJECT in sync_projects(conn, listing.folders)
        assert [t["name"] for t in registry.list_triggers(conn, canary.PROJECT)] == [canary.TRIGGER]

        monkeypatch.setenv("AIRFLOW__OPENFN__CANARY", "False")
        monkeypatch.setattr(folders, "_listed", {})
        listing = folders.spec_folders(dags_folder)
        assert listing.folders == (dags_folder,)
        assert canary.PROJECT not in sync_projects(conn, listing.folders)
        assert registry.list_triggers(conn, canary.PROJECT) == []
