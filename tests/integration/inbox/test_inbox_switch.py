"""One switch: a job is on when its DAG is unpaused; the spec's `enabled` switches it when it changes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from inbox_helpers import INBOX_ID, airflow_dags, autocommit, client, registry

from openfn_airflow.inbox import registry as inbox_registry
from openfn_airflow.store import registry as store

__all__ = ["airflow_dags", "autocommit", "client", "registry"]

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("registry", "airflow_dags")]

URL = f"/openfn/inbox/{INBOX_ID}"
PROJECTS = Path(__file__).resolve().parents[1] / "projects"
OFF = "openfn__inbox__switched-off"  # enabled: false in the spec, its trigger's only listener
VISIT = "openfn__inbox__visit"  # enabled (by default), its trigger's only listener


@pytest.fixture(autouse=True)
def pauses(autocommit) -> Iterator[None]:
    """Airflow's pauses of the inbox project's DAGs, put back as they were after the test."""
    before = autocommit.execute(
        "SELECT dag_id, is_paused FROM dag WHERE dag_id LIKE 'openfn\\_\\_inbox\\_\\_%'"
    ).fetchall()
    assert {row["dag_id"]: row["is_paused"] for row in before}[OFF] is True
    yield
    for row in before:
        autocommit.execute(
            "UPDATE dag SET is_paused = %s WHERE dag_id = %s", [row["is_paused"], row["dag_id"]]
        )


@pytest.fixture
def folder(tmp_path) -> Path:
    """A DAGs folder holding a copy of the inbox test project, to edit."""
    shutil.copytree(PROJECTS / "inbox", tmp_path / "inbox")
    return tmp_path


def edit(folder: Path, old: str, new: str) -> None:
    spec = folder / "inbox" / "project.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def pause(conn, dag_id: str, paused: bool) -> None:
    conn.execute("UPDATE dag SET is_paused = %s WHERE dag_id = %s", [paused, dag_id])


def is_paused(conn, dag_id: str) -> bool:
    return conn.execute("SELECT is_paused FROM dag WHERE dag_id = %s", [dag_id]).fetchone()[
        "is_paused"
    ]


def job(conn, name: str) -> dict:
    return next(j for j in store.list_jobs(conn, "inbox") if j["name"] == name)


def test_a_spec_disabled_job_switched_on_gets_its_messages(client, autocommit):
    """Alone on its trigger, as when it shares one: the switch decides, not the spec."""
    assert client.post(URL, json={"form": "switched-off"}).json()["matched"] == []

    pause(autocommit, OFF, False)  # the Jobs screen's switch
    answer = client.post(URL, json={"form": "switched-off"})

    assert answer.json()["matched"] == ["switched-off"]
    assert store.listening_dags(autocommit, [("inbox", "switched-off")]) == [OFF]


def test_a_job_switched_off_gets_no_message_whatever_its_spec_says(client, autocommit):
    pause(autocommit, VISIT, True)

    answer = client.post(URL, json={"form": "visit", "data": [{"kind": "home"}]})

    assert answer.json()["matched"] == []
    assert store.listening_dags(autocommit, [("inbox", "visits")]) == []


def test_enabled_false_in_the_spec_pauses_the_job_and_true_unpauses_it(autocommit, folder):
    inbox_registry.sync_projects(autocommit, folder)
    assert (
        not is_paused(autocommit, VISIT) and job(autocommit, "visit")["enabled_changed_at"] is None
    )

    edit(folder, "    trigger: visits\n", "    trigger: visits\n    enabled: false\n")
    inbox_registry.sync_projects(autocommit, folder)

    assert is_paused(autocommit, VISIT)
    off = job(autocommit, "visit")
    assert off["enabled"] is False and off["enabled_changed_at"] is not None

    edit(
        folder,
        "    trigger: visits\n    enabled: false\n",
        "    trigger: visits\n    enabled: true\n",
    )
    inbox_registry.sync_projects(autocommit, folder)

    assert not is_paused(autocommit, VISIT)
    on = job(autocommit, "visit")
    assert on["enabled"] is True and on["enabled_changed_at"] > off["enabled_changed_at"]


def test_an_edit_that_leaves_enabled_alone_keeps_the_screens_switch(autocommit, folder):
    inbox_registry.sync_projects(autocommit, folder)
    pause(autocommit, OFF, False)  # switched on on the screen, against the spec's enabled: false
    pause(autocommit, VISIT, True)  # switched off on the screen

    edit(folder, "criteria: {form: patient}", "criteria: {form: patient, v: 2}")
    inbox_registry.sync_projects(autocommit, folder)

    assert store.list_triggers(autocommit, "inbox")[2]["criteria"] == {"form": "patient", "v": 2}
    assert not is_paused(autocommit, OFF) and is_paused(autocommit, VISIT)


def test_a_job_added_back_keeps_its_dags_switch(autocommit, folder, tmp_path_factory):
    """Its DAG outlived it in Airflow: the switch set there is kept, not reset to the spec."""
    inbox_registry.sync_projects(autocommit, folder)
    pause(autocommit, VISIT, True)
    inbox_registry.sync_projects(autocommit, tmp_path_factory.mktemp("empty"))  # the spec is gone
    assert store.list_jobs(autocommit, "inbox") == []

    inbox_registry.sync_projects(autocommit, folder)

    assert is_paused(autocommit, VISIT)
