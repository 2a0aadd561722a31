"""Importing a Lightning export: workflows of jobs, triggers and edges become triggers here."""

from __future__ import annotations

from pathlib import Path

import yaml

LIGHTNING = Path(__file__).parents[2] / "fixtures" / "openfn_exports" / "lightning"


def test_lightning_edges_become_triggers(import_export):
    result = import_export(LIGHTNING)

    spec = result.spec
    assert spec["project"] == "clinic-intake"
    assert spec["triggers"] == {
        "intake-webhook": {"criteria": {}},  # {} is contained in every body: every message
        "register-patient-succeeded": {"success": "register-patient"},
        "register-patient-failed": {"failure": "register-patient"},
        "welcome-patient-succeeded": {"success": "welcome-patient"},
        "nightly-sync-cron": {"cron": "0 23 * * *"},
        "sync-cases-failed": {"failure": "sync-cases"},
    }
    triggers = {name: job.get("trigger") for name, job in spec["jobs"].items()}
    assert triggers == {
        "register-patient": "intake-webhook",
        "welcome-patient": "register-patient-succeeded",
        "intake-report-failure": "register-patient-failed",
        "envoyer-resume": "welcome-patient-succeeded",  # 'always', kept as success
        "notify-adult": None,  # js_expression: by hand only
        "sync-cases": "nightly-sync-cron",  # the kafka edge is not carried over
        "nightly-sync-report-failure": "sync-cases-failed",
    }


def test_lightning_jobs_keep_their_body_adaptor_and_credential(import_export):
    result = import_export(LIGHTNING)
    export = yaml.safe_load((LIGHTNING / "project.yaml").read_text())
    intake = export["workflows"]["intake"]["jobs"]

    job = result.spec["jobs"]["register-patient"]
    assert job == {
        "file": "jobs/register-patient.js",
        "adaptor": "@openfn/language-http@7.2.10",
        "trigger": "intake-webhook",
        "credential": "clinic-api",
    }
    files = result.files()
    assert files["jobs/register-patient.js"].decode() == intake["register-patient"]["body"]
    assert files["jobs/envoyer-resume.js"].decode() == intake["envoyer-résumé"]["body"]
    assert result.spec["jobs"]["envoyer-resume"]["adaptor"] == "@openfn/language-common@3.2.3"
    assert result.spec["jobs"]["sync-cases"]["adaptor"] == "@openfn/language-http@latest"


def test_lightning_credentials_are_listed_by_name(import_export):
    result = import_export(LIGHTNING)

    assert "## clinic-api" in result.connections
    assert "OpenFn credential: clinic api" in result.connections
    assert "airflow connections add clinic-api" in result.connections
    assert "Used by: register-patient, welcome-patient, sync-cases" in result.connections
    assert "alice@example.com" not in result.connections


def test_what_does_not_carry_over_is_listed_in_the_notes_and_printed(import_export):
    result = import_export(LIGHTNING)

    expected = [
        "job notify-adult: edge register-patient->notify-adult is not carried over: its "
        "JavaScript condition (adults only) `state.data.age >= 18` has no equivalent here",
        "job notify-adult: it has no trigger here and runs only by hand",
        "job sync-cases: edge kafka->sync-cases is not carried over: its Kafka trigger "
        "(topics case-events) has no equivalent here",
        "job envoyer-resume: edge report-failure->envoyer-résumé is not carried over: it is "
        "disabled in the export",
        "job envoyer-resume: its edge welcome-patient->envoyer-résumé runs it 'always' after "
        "welcome-patient; a trigger here follows one outcome, so it runs only when "
        "welcome-patient succeeds",
        "matching every message of the project's inbox whose body is a JSON object (an "
        "array body does not contain {}",
        "webhook_reply: after_completion is not carried over",
        "`openfn-airflow inbox-url clinic-intake`",
        "job sync-cases: adaptor @openfn/language-http@latest has @latest",
    ]
    for text in expected:
        assert text in result.notes
        assert text in result.stdout
    assert "| job | envoyer-résumé | envoyer-resume |" in result.notes
    # the cursor job is the cron job itself: the same as here, nothing to say
    assert "cron_cursor_job" not in result.notes
    # a job key of two workflows is prefixed with its workflow's
    assert "| job | report-failure | intake-report-failure |" in result.notes
    assert "| job | report-failure | nightly-sync-report-failure |" in result.notes


def test_a_job_reached_by_several_triggers_keeps_an_enabled_ones(import_export, write_export):
    export = write_export(
        """
        name: many
        workflows:
          wf:
            jobs:
              ingest: {adaptor: '@openfn/language-common@3.3.4', body: 'fn(s => s)'}
              stray: {adaptor: '@openfn/language-common@3.3.4', body: 'fn(s => s)'}
            triggers:
              cron: {type: cron, cron_expression: '0 6 * * *', cron_cursor_job: stray, enabled: false}
              webhook: {type: webhook, enabled: true}
            edges:
              cron->ingest: {source_trigger: cron, target_job: ingest, condition_type: always, enabled: true}
              webhook->ingest: {source_trigger: webhook, target_job: ingest, condition_type: always, enabled: true}
        """.replace("\n        ", "\n")
    )
    result = import_export(export)

    assert result.spec["jobs"]["ingest"]["trigger"] == "wf-webhook"
    assert "enabled" not in result.spec["jobs"]["ingest"]
    assert (
        "job ingest: edge cron->ingest is not carried over: a job here has one trigger and it "
        "keeps webhook->ingest" in result.notes
    )
    assert "job stray: no edge leads to it in the export" in result.notes
    assert "wf-cron" not in result.spec["triggers"]


def test_a_disabled_trigger_pauses_its_job(import_export, write_export):
    export = write_export(
        """
        name: paused
        workflows:
          wf:
            jobs:
              ingest: {adaptor: '@openfn/language-common@3.3.4', body: 'fn(s => s)'}
              other: {adaptor: '@openfn/language-common@3.3.4', body: 'fn(s => s)'}
            triggers:
              cron: {type: cron, cron_expression: '0 6 * * *', cron_cursor_job: other, enabled: false}
            edges:
              cron->ingest: {source_trigger: cron, target_job: ingest, condition_type: always}
        """.replace("\n        ", "\n")
    )
    result = import_export(export)

    assert result.spec["jobs"]["ingest"] == {
        "file": "jobs/ingest.js",
        "adaptor": "@openfn/language-common@3.3.4",
        "trigger": "wf-cron",
        "enabled": False,
    }
    assert "job ingest: its trigger is disabled in the export" in result.notes
    assert "cron_cursor_job: other is not carried over" in result.notes


def test_two_webhook_workflows_are_told_they_now_share_one_inbox(import_export, write_export):
    export = write_export(
        """
        name: hooks
        workflows:
          a:
            jobs: {one: {adaptor: '@openfn/language-common@3.3.4', body: 'fn(s => s)'}}
            triggers: {webhook: {type: webhook, enabled: true}}
            edges: {webhook->one: {source_trigger: webhook, target_job: one, condition_type: always}}
          b:
            jobs: {two: {adaptor: '@openfn/language-common@3.3.4', body: 'fn(s => s)'}}
            triggers: {webhook: {type: webhook, enabled: true}}
            edges: {webhook->two: {source_trigger: webhook, target_job: two, condition_type: always}}
        """.replace("\n        ", "\n")
    )
    result = import_export(export)

    assert result.spec["triggers"] == {"a-webhook": {"criteria": {}}, "b-webhook": {"criteria": {}}}
    assert "2 workflows were started by their own webhook" in result.notes
    assert "give each of these triggers criteria that tell their messages apart" in result.notes


def test_workflow_concurrency_and_disabled_logs_reach_each_job(import_export, write_export):
    export = write_export(
        """
        name: limits
        workflows:
          wf:
            concurrency: 1
            enable_job_logs: false
            jobs: {one: {adaptor: '@openfn/language-common@3.3.4', body: 'fn(s => s)'}}
        """.replace("\n        ", "\n")
    )
    job = import_export(export).spec["jobs"]["one"]

    assert job["concurrency"] == 1
    assert job["console"] is False


def test_lightnings_v2_format_imports_to_the_same_project(import_export, tmp_path):
    v1 = import_export(LIGHTNING, tmp_path / "v1")
    v2 = import_export(LIGHTNING.with_name("lightning_v2"), tmp_path / "v2")

    assert v2.spec == v1.spec
    assert {k: v for k, v in v2.files().items() if k.startswith("jobs/")} == {
        k: v for k, v in v1.files().items() if k.startswith("jobs/")
    }
    assert v2.connections == v1.connections

    def listed(notes: str) -> list[str]:
        return sorted(line for line in notes.splitlines() if line.startswith(("- ", "| ")))

    assert listed(v2.notes) == listed(v1.notes)
    assert "Imported from the Lightning (v2 format) export" in v2.notes


def test_v2_conditions_written_as_javascript_bodies(import_export, write_export):
    export = write_export(
        """
        name: conditions
        workflows:
          - id: wf
            steps:
              - {id: a, adaptors: ['@openfn/language-common@3.3.4'], expression: 'fn(s => s)',
                 next: {b: {condition: '!state.errors'}, c: {condition: '!!state.errors'},
                        d: {condition: 'state.data.n > 1'}, e: {condition: never}}}
              - {id: b, adaptor: '@openfn/language-common@3.3.4', expression: 'fn(s => s)'}
              - {id: c, adaptor: '@openfn/language-common@3.3.4', expression: 'fn(s => s)'}
              - {id: d, adaptor: '@openfn/language-common@3.3.4', expression: 'fn(s => s)'}
              - {id: e, adaptors: ['@openfn/language-common@3.3.4', '@openfn/language-http@7.2.10'],
                 expression: 'fn(s => s)'}
        """.replace("\n        ", "\n")
    )
    result = import_export(export)

    triggers = {name: job.get("trigger") for name, job in result.spec["jobs"].items()}
    assert triggers == {"a": None, "b": "a-succeeded", "c": "a-failed", "d": None, "e": None}
    assert "`state.data.n > 1` has no equivalent here" in result.notes
    assert "job e: edge a->e is not carried over: it is disabled in the export" in result.notes
    assert (
        "job e: only its first adaptor @openfn/language-common@3.3.4 is carried over"
        in result.notes
    )
