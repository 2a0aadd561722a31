"""Where the inbox reads project specs: the DAGs folder and each git bundle's parsed commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from openfn_airflow.bundles import folders


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(folders, "_listed", {})
    monkeypatch.setattr(folders, "_checkouts", {})


def test_git_bundles_parsed_so_far_follow_the_dags_folder(tmp_path, monkeypatch):
    made = []

    def checkout(name: str, version: str) -> Path:
        made.append((name, version))
        return tmp_path / name / version

    monkeypatch.setattr(
        folders, "_git_bundle_versions", lambda: {"projects": "abc123", "unparsed": None}
    )
    monkeypatch.setattr(folders, "_checkout", checkout)

    listing = folders.spec_folders(tmp_path / "dags")
    assert listing == folders.SpecFolders(
        (tmp_path / "dags", tmp_path / "projects" / "abc123"), complete=True
    )
    assert folders.spec_folders(tmp_path / "dags") is listing  # reused for a few seconds
    assert made == [("projects", "abc123")]


def test_an_unreadable_bundle_is_left_out_and_says_the_listing_is_incomplete(tmp_path, monkeypatch):
    def checkout(name: str, version: str) -> Path:
        raise RuntimeError("Error cloning repository")

    monkeypatch.setattr(folders, "_git_bundle_versions", lambda: {"projects": "abc123"})
    monkeypatch.setattr(folders, "_checkout", checkout)
    assert folders.spec_folders(tmp_path) == folders.SpecFolders((tmp_path,), complete=False)


def test_without_bundle_configuration_only_the_dags_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "_git_bundles", lambda: {})
    assert folders.spec_folders(tmp_path) == folders.SpecFolders((tmp_path,), complete=True)
