"""Importing an OpenFn v1 export: triggers, jobs, files, connections and notes."""

from __future__ import annotations

from pathlib import Path

import yaml

V1 = Path(__file__).parents[2] / "fixtures" / "openfn_exports" / "v1"


def test_v1_triggers_and_jobs_are_written_in_this_projects_format(import_export):
    result = import_export(V1)

    assert result.spec == {
        "project": "v1",
        "triggers": {
            "patient-form": {
                "criteria": {"formID": "patient_registration"},
                "exclude": {"test": True},
            },
            "readings": {"criteria": {"type": "reading", "device": {"kind": "thermometer"}}},
            "every-5-min": {"cron": "*/5 * * * *"},
            "registration-done": {"success": "Register-Patient"},
            "registration-failed": {"failure": "Register-Patient"},
        },
        "jobs": {
            "Register-Patient": {
                "file": "jobs/Register-Patient.js",
                "adaptor": "@openfn/language-http@7.2.10",
                "trigger": "patient-form",
                "credential": "example-api",
                "enabled": True,
                "autoprocess": True,
            },
            "welcome-patient": {
                "file": "jobs/welcome-patient.js",
                "adaptor": "@openfn/language-http@7.2.10",
                "trigger": "registration-done",
                "credential": "example-api",
            },
            "alert-on-failure": {
                "file": "jobs/alert-on-failure.js",
                "adaptor": "@openfn/language-common@3.3.4",
                "trigger": "registration-failed",
            },
            "sync-cases": {
                "file": "jobs/sync-cases.js",
                "adaptor": "@openfn/language-http@latest",
                "trigger": "every-5-min",
                "credential": "example-api",
                "enabled": False,
            },
            "replay-reading": {
                "file": "jobs/replay-reading.js",
                "adaptor": "@openfn/language-common@latest",
                "trigger": "readings",
                "autoprocess": False,
            },
        },
    }


def test_v1_job_files_hold_the_expressions_unchanged(import_export):
    result = import_export(V1)
    export = yaml.safe_load((V1 / "project.yaml").read_text())

    files = result.files()
    assert (
        files["jobs/Register-Patient.js"].decode()
        == export["jobs"]["Register Patient"]["expression"]
    )
    assert files["jobs/sync-cases.js"].decode() == export["jobs"]["sync-cases"]["expression"]
    # file:// expressions (portability v3) are read from beside the export
    assert files["jobs/welcome-patient.js"] == (V1 / "jobs" / "welcome_patient.js").read_bytes()
    assert sorted(name for name in files if name.startswith("jobs/")) == [
        "jobs/Register-Patient.js",
        "jobs/alert-on-failure.js",
        "jobs/replay-reading.js",
        "jobs/sync-cases.js",
        "jobs/welcome-patient.js",
    ]


def test_v1_credentials_become_connections_to_create_without_their_secrets(import_export):
    result = import_export(V1)

    assert "airflow connections add example-api" in result.connections
    assert "Used by: Register-Patient, welcome-patient, sync-cases" in result.connections
    assert "--conn-password '<password>'" in result.connections
    assert "--conn-host '<baseUrl>'" in result.connections
    for name, content in result.files().items():
        assert b"hunter2-not-masked" not in content, name
    assert "hunter2" not in result.stdout
    assert "credential example-api: the export holds unmasked values" in result.notes


def test_v1_notes_list_unpinned_adaptors_and_renamed_jobs(import_export):
    result = import_export(V1)

    assert "job sync-cases: adaptor @openfn/language-http has no version" in result.notes
    assert "job replay-reading: adaptor @openfn/language-common@latest has @latest" in result.notes
    # what @latest stands for when the import ran (tests: conftest.CATALOG's last versions)
    assert (
        "job sync-cases: @openfn/language-http@latest is @openfn/language-http@7.2.10 today; "
        "write that in project.yaml to pin it" in result.notes
    )
    assert (
        "job replay-reading: @openfn/language-common@latest is @openfn/language-common@3.3.4 today"
        in result.stdout
    )
    assert "| job | Register Patient | Register-Patient |" in result.notes
    # the same, printed
    assert "job sync-cases: adaptor @openfn/language-http has no version" in result.stdout
    assert "job 'Register Patient' is named Register-Patient here" in result.stdout


def test_importing_twice_writes_the_same_bytes(import_export, tmp_path):
    first = import_export(V1, tmp_path / "a")
    second = import_export(V1, tmp_path / "b")

    assert first.files() == second.files()
    assert set(first.files()) == {
        "IMPORT-NOTES.md",
        "connections.md",
        "project.yaml",
        "jobs/Register-Patient.js",
        "jobs/alert-on-failure.js",
        "jobs/replay-reading.js",
        "jobs/sync-cases.js",
        "jobs/welcome-patient.js",
    }


def test_v1_inline_trigger_unknown_trigger_and_unknown_keys_are_noted(import_export, write_export):
    export = write_export(
        """
        jobs:
          a:
            expression: fn(s => s)
            adaptor: language-common@3.3.4
            trigger: {cron: '0 * * * *'}
            retries: 3
          b:
            expression: fn(s => s)
            adaptor: language-common@3.3.4
            trigger: nowhere
          c:
            expression: fn(s => s)
            adaptor: language-common@3.3.4
            trigger: odd
        triggers:
          odd: {criteria: '{}', cron: '* * * * *'}
        """.replace("\n        ", "\n")
    )
    result = import_export(export)

    assert result.spec["triggers"] == {"a": {"cron": "0 * * * *"}}
    assert result.spec["jobs"]["a"]["trigger"] == "a"
    assert "trigger" not in result.spec["jobs"]["b"]
    assert "job b: its trigger nowhere is not among the export's triggers" in result.notes
    assert (
        "trigger odd: expected one of criteria, cron, success, failure, found criteria and cron"
        in result.notes
    )
    assert "job a: its key retries: is not carried over" in result.notes
