"""The registry follows the specs: triggers and jobs written once, changed, removed, pruned."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from inbox_helpers import autocommit

from openfn_airflow.inbox import registry
from openfn_airflow.store import registry as store

__all__ = ["autocommit"]

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_db")]

PROJECTS = Path(__file__).resolve().parents[1] / "projects"


@pytest.fixture
def folder(tmp_path) -> Path:
    """A DAGs folder holding a copy of the inbox test project."""
    registry._names.clear()
    shutil.copytree(PROJECTS / "inbox", tmp_path / "inbox")
    return tmp_path


def edit(folder: Path, old: str, new: str) -> None:
    spec = folder / "inbox" / "project.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def test_sync_writes_message_triggers_and_jobs(autocommit, folder):
    assert registry.sync_projects(autocommit, folder) == ["inbox"]

    triggers = store.list_triggers(autocommit, "inbox")
    assert [t["name"] for t in triggers] == [
        "batches",
        "by-hand",
        "patients",
        "switched-off",
        "visits",
    ]  # not the success trigger
    patients = next(t for t in triggers if t["name"] == "patients")
    assert patients["criteria"] == {"form": "patient"} and patients["exclude"] == {"test": True}
    jobs = {j["name"]: j for j in store.list_jobs(autocommit, "inbox")}
    assert "old" not in jobs  # archived
    assert jobs["register"]["dag_id"] == "openfn__inbox__register"
    assert not jobs["by-hand"]["autoprocess"] and not jobs["switched-off"]["enabled"]
    assert jobs["batch"]["runs"] == "batched"


def test_unchanged_specs_are_not_read_again(autocommit, folder, monkeypatch):
    registry.sync_projects(autocommit, folder)

    def fail(*args, **kwargs):
        raise AssertionError("an unchanged spec was synced again")

    monkeypatch.setattr(registry, "_sync_specs", fail)
    assert registry.sync_projects(autocommit, folder) == ["inbox"]


def test_changes_reach_the_registry(autocommit, folder):
    registry.sync_projects(autocommit, folder)
    edit(folder, "criteria: {form: patient}", "criteria: {form: patient, v: 2}")
    edit(folder, "  by-hand:\n    criteria: {form: by-hand}\n", "")
    edit(folder, "    trigger: by-hand\n", "    trigger: patients\n")
    edit(folder, "  batch:\n    file: jobs/echo.py\n    trigger: batches\n    runs: batched\n", "")

    registry.sync_projects(autocommit, folder)

    triggers = {t["name"]: t for t in store.list_triggers(autocommit, "inbox")}
    assert "by-hand" not in triggers
    assert triggers["patients"]["criteria"] == {"form": "patient", "v": 2}
    jobs = {j["name"]: j for j in store.list_jobs(autocommit, "inbox")}
    assert "batch" not in jobs and jobs["by-hand"]["trigger"] == "patients"


def test_generated_inbox_id_is_kept(autocommit, folder):
    edit(folder, "inbox:\n  id: 5f0c6a43-8f7e-4d59-9a53-5a3d2b6e9c01\n", "")
    registry.sync_projects(autocommit, folder)
    [first] = autocommit.execute("SELECT inbox_id FROM openfn_project").fetchall()
    edit(folder, "criteria: {form: patient}", "criteria: {form: patients}")

    registry.sync_projects(autocommit, folder)

    [again] = autocommit.execute("SELECT inbox_id FROM openfn_project").fetchall()
    assert again == first and first["inbox_id"].version == 4


def test_fixed_inbox_id_replaces_the_stored_one(autocommit, folder):
    registry.sync_projects(autocommit, folder)
    fixed = uuid.uuid4()
    edit(folder, "5f0c6a43-8f7e-4d59-9a53-5a3d2b6e9c01", str(fixed))

    registry.sync_projects(autocommit, folder)

    assert autocommit.execute("SELECT inbox_id FROM openfn_project").fetchone()["inbox_id"] == fixed


def test_a_removed_project_matches_nothing_but_keeps_its_inbox(
    autocommit, folder, tmp_path_factory
):
    registry.sync_projects(autocommit, folder)
    elsewhere = tmp_path_factory.mktemp("empty")

    assert registry.sync_projects(autocommit, elsewhere, prune=False) == []
    assert store.list_triggers(autocommit, "inbox") != []  # a CLI looking elsewhere prunes nothing

    registry.sync_projects(autocommit, elsewhere)
    assert store.list_triggers(autocommit, "inbox") == []
    assert store.list_jobs(autocommit, "inbox") == []
    row = autocommit.execute("SELECT inbox_id, spec_hash FROM openfn_project").fetchone()
    assert str(row["inbox_id"]) == "5f0c6a43-8f7e-4d59-9a53-5a3d2b6e9c01"
    assert row["spec_hash"] is None

    registry.sync_projects(autocommit, folder)  # back again
    assert store.list_triggers(autocommit, "inbox") != []


def test_an_inbox_id_taken_by_another_project_skips_only_that_project(autocommit, folder):
    shutil.copytree(folder / "inbox", folder / "twin")
    spec = folder / "twin" / "project.yaml"
    spec.write_text(spec.read_text().replace("project: inbox", "project: twin"))

    assert registry.sync_projects(autocommit, folder) == ["inbox"]
    assert store.list_triggers(autocommit, "twin") == []


def test_several_folders_sync_together_and_the_first_defines_a_project_twice_defined(
    autocommit, folder, tmp_path_factory
):
    """The DAGs folder and a git bundle's checkout: both projects match, neither is pruned."""
    bundle = tmp_path_factory.mktemp("bundle")
    shutil.copytree(PROJECTS / "core", bundle / "core")
    shutil.copytree(PROJECTS / "inbox", bundle / "inbox-copy")
    spec = bundle / "inbox-copy" / "project.yaml"
    spec.write_text(spec.read_text().replace("form: patient", "form: never-matched"))

    assert registry.sync_projects(autocommit, [folder, bundle]) == ["core", "inbox"]
    assert registry.sync_projects(autocommit, [folder, bundle]) == ["core", "inbox"]  # unchanged
    assert store.list_triggers(autocommit, "core") != []
    criteria = [t["criteria"] for t in store.list_triggers(autocommit, "inbox")]
    assert {"form": "never-matched"} not in criteria  # the DAGs folder's spec was taken

    registry.sync_projects(autocommit, [folder])  # the bundle's checkout is gone
    assert store.list_triggers(autocommit, "core") == []
    assert store.list_triggers(autocommit, "inbox") != []
