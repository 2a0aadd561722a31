"""The imported projects load with the spec loader, with every job and trigger kept."""

from __future__ import annotations

from pathlib import Path

from openfn_airflow.spec import load_project

EXPORTS = Path(__file__).parents[2] / "fixtures" / "openfn_exports"


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
    assert project.jobs["welcome-patient"].adaptors == ("@openfn/language-http@7.2.10",)
    # @latest is resolved once, when the spec loads
    assert project.jobs["sync-cases"].adaptors == ("@openfn/language-http@7.2.10",)
    assert project.jobs["replay-reading"].adaptors == ("@openfn/language-common@3.3.4",)
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


def test_an_adaptor_the_catalog_does_not_know_is_written_and_reported(import_export, write_export):
    export = write_export(
        "jobs:\n  a: {expression: 'fn(s => s)', adaptor: language-kobotoolbox@v2.0.1}\n"
    )
    result = import_export(export)

    assert result.code == 1
    assert result.spec["jobs"]["a"]["adaptor"] == "@openfn/language-kobotoolbox@2.0.1"
    assert "the written project.yaml has 1 problem(s):" in result.stdout
    assert "jobs.a.adaptor" in result.stdout
    assert "jobs.a.adaptor" in result.notes.split("## Spec check")[1]
    assert "passes `openfn-airflow validate`" not in result.notes
