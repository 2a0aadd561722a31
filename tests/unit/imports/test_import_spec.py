"""The imported projects load with the spec loader, with every job and trigger kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openfn_airflow.spec import load_project
from openfn_airflow.spec.jobs import JOB_KEYS

EXPORTS = Path(__file__).parents[2] / "fixtures" / "openfn_exports"


@pytest.fixture(autouse=True)
def _spec_reads_javascript_jobs():
    if "adaptor" not in JOB_KEYS:
        reason = "the spec does not read JavaScript jobs (adaptor:) yet"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)


def test_the_imported_v1_project_loads(import_export):
    result = import_export(EXPORTS / "v1")

    assert result.code == 0, result.stdout
    assert "passes `openfn-airflow validate`" in result.notes
    project = load_project(result.out)
    assert sorted(project.jobs) == [
        "Register-Patient",
        "alert-on-failure",
        "replay-reading",
        "sync-cases",
        "welcome-patient",
    ]
    assert {job.language for job in project.jobs.values()} == {"javascript"}
    assert project.jobs["welcome-patient"].adaptors == ("@openfn/language-http@6.4.3",)
    latest = project.jobs["sync-cases"].adaptors[0]
    assert latest.startswith("@openfn/language-http@") and not latest.endswith("@latest")
    kinds = {name: trigger.kind for name, trigger in project.triggers.items()}
    assert kinds == {
        "patient-form": "message",
        "readings": "message",
        "every-5-min": "cron",
        "registration-done": "success",
        "registration-failed": "failure",
    }
    assert project.downstream_of("Register-Patient", "failure")[0].name == "alert-on-failure"


def test_the_imported_lightning_project_loads(import_export):
    result = import_export(EXPORTS / "lightning")

    assert result.code == 0, result.stdout
    project = load_project(result.out)
    assert len(project.jobs) == 7
    webhook = project.triggers["intake-webhook"]
    assert (webhook.kind, webhook.criteria, webhook.exclude) == ("message", {}, None)
    assert project.trigger_of(project.jobs["notify-adult"]) is None
    assert [job.name for job in project.downstream_of("register-patient", "success")] == [
        "welcome-patient"
    ]
    assert project.jobs["register-patient"].credential == "clinic-api"
