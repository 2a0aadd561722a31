"""Archived jobs (OpenFn's archive and restore): kept in the spec, never generated, restorable."""

from __future__ import annotations

from openfn_airflow.spec import check_path, load_project, load_project_lenient, validate_path

FILES = ["jobs/a.py"]


def test_an_archived_job_is_kept_apart_with_its_trigger(write_project):
    spec = write_project(
        """
        project: demo
        triggers:
          form: {criteria: {form: x}}
        jobs:
          live: {file: jobs/a.py, trigger: form}
          old: {file: jobs/a.py, trigger: form, archived: true, description: the first one}
          nightly: {file: jobs/gone.py, trigger: {cron: "0 3 * * *"}, archived: true}
          by-hand: {file: jobs/a.py, archived: true}
        """,
        files=FILES,
    )

    project = load_project(spec)

    assert list(project.jobs) == ["live"]
    assert sorted(project.archived) == ["by-hand", "nightly", "old"]
    old = project.archived["old"]
    assert old.name == "old" and old.job.description == "the first one"
    assert old.trigger is not None and old.trigger.criteria == {"form": "x"}
    nightly = project.archived["nightly"].trigger
    assert nightly is not None and nightly.kind == "cron" and nightly.cron == "0 3 * * *"
    assert project.archived["by-hand"].trigger is None
    # The archived job's inline trigger matches nothing: it is not a trigger of the project.
    assert sorted(project.triggers) == ["form"]
    assert project.problems == () and project.notes == ()


def test_archived_must_be_true_or_false(write_project):
    spec = write_project(
        """
        project: demo
        jobs:
          old: {file: jobs/a.py, archived: "yes"}
          live: {file: jobs/a.py}
        """,
        files=FILES,
    )

    project = load_project_lenient(spec)

    [problem] = project.problems
    assert problem.location == "jobs.old.archived"
    assert problem.message == 'expected true or false, got "yes" (text)'
    assert problem.hint == "write true or false, without quotes"
    assert list(project.jobs) == ["live"] and project.archived == {}


def test_an_archived_job_with_a_broken_setting_is_a_problem_and_not_listed(write_project):
    spec = write_project(
        """
        project: demo
        jobs:
          old: {file: jobs/a.py, archived: true, timeout: soon}
        """,
        files=FILES,
    )

    project = load_project_lenient(spec)

    assert [p.location for p in project.problems] == ["jobs.old.timeout"]
    assert project.archived == {}


def test_a_job_on_an_archived_job_stays_with_a_note_not_a_problem(write_project):
    spec = write_project(
        """
        project: demo
        triggers:
          old-failed: {failure: old}
          after-alert: {success: alert}
        jobs:
          old: {file: jobs/a.py, archived: true}
          alert: {file: jobs/a.py, trigger: old-failed}
          after-alert: {file: jobs/a.py, trigger: after-alert}
          inline: {file: jobs/a.py, trigger: {success: old}}
        """,
        files=FILES,
    )

    project = load_project(spec)  # strict: a note is no error

    assert sorted(project.jobs) == ["after-alert", "alert", "inline"]
    assert project.problems == ()
    assert [(n.location, n.message) for n in project.notes] == [
        ("triggers.old-failed.failure", 'job "old" is archived, so this trigger never fires'),
        ("jobs.inline.trigger.success", 'job "old" is archived, so this trigger never fires'),
    ]
    assert project.notes[0].hint == (
        "alert can still be run by hand; to chain again, remove archived: true from old, "
        "or give alert another trigger"
    )
    # Its chain below works as before: alert's success still starts after-alert.
    assert [job.name for job in project.downstream_of("alert", "success")] == ["after-alert"]


def test_restoring_a_job_brings_it_and_its_chain_back(write_project):
    text = """
        project: demo
        triggers:
          form: {criteria: {form: x}}
          old-failed: {failure: old}
        jobs:
          old: {file: jobs/a.py, trigger: form, archived: true}
          alert: {file: jobs/a.py, trigger: old-failed}
        """
    archived = load_project(write_project(text, files=FILES, folder="archived"))
    restored = load_project(
        write_project(text.replace(", archived: true", ""), files=FILES, folder="restored")
    )

    assert list(archived.jobs) == ["alert"] and list(archived.archived) == ["old"]
    assert sorted(restored.jobs) == ["alert", "old"] and restored.archived == {}
    assert restored.notes == ()
    assert [job.name for job in restored.downstream_of("old", "failure")] == ["alert"]


def test_an_archived_job_in_a_loop_breaks_it_without_a_problem(write_project):
    spec = write_project(
        """
        project: demo
        triggers:
          after-a: {success: a}
          after-b: {success: b}
        jobs:
          a: {file: jobs/a.py, trigger: after-b, archived: true}
          b: {file: jobs/a.py, trigger: after-a}
        """,
        files=FILES,
    )

    project = load_project(spec)

    assert list(project.jobs) == ["b"] and list(project.archived) == ["a"]
    assert [n.location for n in project.notes] == ["triggers.after-a.success"]


def test_check_path_gives_the_notes_beside_the_problems(write_project):
    spec = write_project(
        """
        project: demo
        jobs:
          old: {file: jobs/a.py, archived: true}
          alert: {file: jobs/a.py, trigger: {failure: old}}
        """,
        files=FILES,
    )

    [check] = check_path(spec)

    assert check.path == spec and check.problems == []
    assert [n.location for n in check.notes] == ["jobs.alert.trigger.failure"]
    assert validate_path(spec) == [(spec, [])]
