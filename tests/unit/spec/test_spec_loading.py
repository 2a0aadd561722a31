"""A valid spec becomes the project its author wrote."""

from __future__ import annotations

from openfn_airflow.spec import Job, Trigger, load_project, load_project_lenient

FULL_SPEC = """
project: demo
inbox:
  id: 7C1E2A4E-8D1B-4C59-9D0B-6A3F2F3E4B1A
triggers:
  patient-form:
    criteria: {formID: patient_registration}
    exclude: {test: true}
  every-5-min: {cron: "*/5 * * * *", timezone: Africa/Nairobi}
  registration-failed: {failure: register-patient}
  registration-done: {success: register-patient}
  unused: {cron: "@daily"}
jobs:
  register-patient:
    file: jobs/register_patient.py
    trigger: patient-form
    credential: dhis2
    autoprocess: false
    runs: batched
    timeout: 1m30s
    concurrency: 2
    console: false
    test_mode: true
    enabled: false
    owner: data-team
    description: Registers patients in DHIS2.
    tags: [dhis2, patients]
  sync-cases: {file: jobs/sync_cases.py, trigger: every-5-min}
  alert-on-failure: {file: jobs/alert.py, trigger: registration-failed}
  thank-you: {file: jobs/alert.py, trigger: registration-done}
  by-hand: {file: jobs/alert.py}
"""
FULL_FILES = ["jobs/register_patient.py", "jobs/sync_cases.py", "jobs/alert.py"]


def test_full_spec_loads_every_trigger_kind(write_project):
    spec = write_project(FULL_SPEC, files=FULL_FILES)

    project = load_project(spec)

    assert project.name == "demo"
    assert project.spec_path == spec.resolve()
    assert project.root == spec.parent.resolve()
    assert project.inbox_id == "7c1e2a4e-8d1b-4c59-9d0b-6a3f2f3e4b1a"
    assert project.problems == ()
    assert project.triggers == {
        "patient-form": Trigger(
            "patient-form",
            "message",
            criteria={"formID": "patient_registration"},
            exclude={"test": True},
        ),
        "every-5-min": Trigger(
            "every-5-min", "cron", cron="*/5 * * * *", timezone="Africa/Nairobi"
        ),
        "registration-failed": Trigger(
            "registration-failed", "failure", upstream="register-patient"
        ),
        "registration-done": Trigger("registration-done", "success", upstream="register-patient"),
        "unused": Trigger("unused", "cron", cron="@daily"),
    }
    assert list(project.jobs) == [
        "register-patient",
        "sync-cases",
        "alert-on-failure",
        "thank-you",
        "by-hand",
    ]


def test_job_settings_are_typed(write_project):
    spec = write_project(FULL_SPEC, files=FULL_FILES)

    project = load_project(spec)

    assert project.jobs["register-patient"] == Job(
        name="register-patient",
        file=spec.parent.resolve() / "jobs/register_patient.py",
        trigger="patient-form",
        credential="dhis2",
        autoprocess=False,
        runs="batched",
        timeout=90.0,
        concurrency=2,
        console=False,
        test_mode=True,
        enabled=False,
        archived=False,
        owner="data-team",
        description="Registers patients in DHIS2.",
        tags=("dhis2", "patients"),
    )
    assert project.jobs["sync-cases"] == Job(
        name="sync-cases", file=spec.parent.resolve() / "jobs/sync_cases.py", trigger="every-5-min"
    )
    assert project.jobs["by-hand"].trigger is None


def test_project_names_assets_and_follows_chains(write_project):
    project = load_project(write_project(FULL_SPEC, files=FULL_FILES))

    assert project.trigger_asset_uri("patient-form") == "openfn://demo/triggers/patient-form"
    assert project.success_asset_uri("sync-cases") == "openfn://demo/jobs/sync-cases/success"
    assert project.failure_asset_uri("sync-cases") == "openfn://demo/jobs/sync-cases/failure"
    assert project.trigger_of(project.jobs["sync-cases"]).cron == "*/5 * * * *"
    assert project.trigger_of(project.jobs["by-hand"]) is None
    assert [j.name for j in project.downstream_of("register-patient", "failure")] == [
        "alert-on-failure"
    ]
    assert [j.name for j in project.downstream_of("register-patient", "success")] == ["thank-you"]
    assert project.downstream_of("sync-cases", "success") == []


def test_inline_trigger_is_named_after_its_job(write_project):
    spec = write_project(
        """
        project: demo
        jobs:
          hourly: {file: jobs/a.py, trigger: {cron: "0 * * * *"}}
          on-form:
            file: jobs/a.py
            trigger: {criteria: {formID: x}}
            runs: batched
          after-hourly: {file: jobs/a.py, trigger: {success: hourly}}
        """,
        files=["jobs/a.py"],
    )

    project = load_project(spec)

    assert project.jobs["hourly"].trigger == "hourly"
    assert project.triggers["hourly"] == Trigger("hourly", "cron", cron="0 * * * *")
    assert project.triggers["on-form"].criteria == {"formID": "x"}
    assert [j.name for j in project.downstream_of("hourly", "success")] == ["after-hourly"]


def test_json_string_criteria_from_v1_exports_are_parsed(write_project):
    spec = write_project(
        """
        project: demo
        triggers:
          form: {criteria: '{"formID": "patient_registration", "age": 8}', exclude: '[{"test": true}]'}
        jobs:
          a: {file: jobs/a.py, trigger: form}
        """,
        files=["jobs/a.py"],
    )

    trigger = load_project(spec).triggers["form"]

    assert trigger.kind == "message"
    assert trigger.criteria == {"formID": "patient_registration", "age": 8}
    assert trigger.exclude == [{"test": True}]


def test_archived_job_is_not_generated_and_is_not_an_error(write_project):
    spec = write_project(
        """
        project: demo
        triggers:
          after-old: {success: old}
        jobs:
          old: {file: jobs/deleted.py, archived: true}
          follower: {file: jobs/a.py, trigger: after-old, archived: true}
          current: {file: jobs/a.py}
        """,
        files=["jobs/a.py"],
    )

    project = load_project(spec)

    assert list(project.jobs) == ["current"]
    assert project.problems == ()


def test_a_folder_loads_the_spec_inside_it(write_project):
    spec = write_project("project: demo\n", folder="demo", name="project.yml")

    assert load_project(spec.parent).spec_path == spec.resolve()


def test_empty_sections_and_null_options_are_fine(write_project):
    spec = write_project(
        """
        project: demo
        inbox:
        triggers:
        jobs:
          a: {file: ./jobs/a.py, owner: null, timeout: 90, tags: []}
        """,
        files=["jobs/a.py"],
    )

    project = load_project_lenient(spec)

    assert project.problems == ()
    assert project.inbox_id is None
    assert project.jobs["a"].timeout == 90.0
    assert project.jobs["a"].owner is None


def test_cron_presets_and_airflow_style_expressions_are_accepted(write_project):
    spec = write_project(
        """
        project: demo
        triggers:
          weekdays: {cron: "0 9 * * MON-FRI"}
          last-day: {cron: "0 0 L * *"}
          quarterly: {cron: "@quarterly"}
          leap-day: {cron: "0 0 29 2 *"}
        """
    )

    assert load_project(spec).problems == ()


def test_objects_are_hashable(write_project):
    project = load_project(write_project(FULL_SPEC, files=FULL_FILES))

    assert len({*project.triggers.values()}) == 5
    assert len({*project.jobs.values()}) == 5
    assert hash(project)


def test_a_job_runs_auto_unless_its_spec_picks_a_fixed_mode(write_project):
    spec = write_project(
        """
        project: demo
        triggers:
          form: {criteria: {formID: x}}
        jobs:
          default: {file: jobs/a.py, trigger: form}
          one-each: {file: jobs/a.py, trigger: form, runs: per-message}
          together: {file: jobs/a.py, trigger: form, runs: batched}
          adaptive: {file: jobs/a.py, trigger: form, runs: auto}
        """,
        files=["jobs/a.py"],
    )

    jobs = load_project(spec).jobs

    assert {name: job.runs for name, job in jobs.items()} == {
        "default": "auto",
        "one-each": "per-message",
        "together": "batched",
        "adaptive": "auto",
    }
