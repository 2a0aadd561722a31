"""Lenient loading keeps every job that can run and drops the ones that cannot."""

from __future__ import annotations

import pytest

from openfn_airflow.spec import SpecError, load_project_lenient, parse_project

SPEC = """
project: demo
triggers:
  form: {criteria: {formID: x}}
  broken-cron: {cron: "every minute"}
  a-ok: {success: a}
  bad-ok: {success: bad-settings}
  chain-ok: {success: after-bad}
jobs:
  a: {file: jobs/a.py, trigger: form}
  b: {file: jobs/a.py, trigger: a-ok, enabled: false}
  bad-settings: {file: jobs/a.py, timeout: soon}
  bad-file: {file: jobs/missing.py}
  bad-trigger: {file: jobs/a.py, trigger: broken-cron}
  unknown-trigger: {file: jobs/a.py, trigger: nope}
  after-bad: {file: jobs/a.py, trigger: bad-ok}
  after-after-bad: {file: jobs/a.py, trigger: chain-ok}
  manual: {file: jobs/a.py, autoprocess: false}
"""


def test_valid_jobs_survive_and_broken_ones_are_dropped(write_project):
    project = load_project_lenient(write_project(SPEC, files=["jobs/a.py"]))

    assert list(project.jobs) == ["a", "b", "manual"]
    assert [p.location for p in project.problems] == [
        "triggers.broken-cron.cron",
        "jobs.bad-settings.timeout",
        "jobs.bad-file.file",
        "jobs.unknown-trigger.trigger",
    ]


def test_broken_triggers_are_left_out_and_unused_ones_kept(write_project):
    project = load_project_lenient(write_project(SPEC, files=["jobs/a.py"]))

    assert "broken-cron" not in project.triggers
    assert {"form", "a-ok", "bad-ok", "chain-ok"} <= set(project.triggers)


def test_dropped_upstream_job_takes_its_downstream_along(write_project):
    project = load_project_lenient(write_project(SPEC, files=["jobs/a.py"]))

    assert "after-bad" not in project.jobs
    assert "after-after-bad" not in project.jobs
    assert project.downstream_of("a", "success")[0].name == "b"


def test_job_on_an_archived_upstream_is_kept_with_a_note(write_project):
    spec = write_project(
        """
        project: demo
        jobs:
          old: {file: jobs/a.py, archived: true}
          alert: {file: jobs/a.py, trigger: {failure: old}}
          other: {file: jobs/a.py}
        """,
        files=["jobs/a.py"],
    )

    project = load_project_lenient(spec)

    assert list(project.jobs) == ["alert", "other"] and project.problems == ()
    assert [n.location for n in project.notes] == ["jobs.alert.trigger.failure"]


def test_problems_elsewhere_do_not_drop_jobs(write_project):
    spec = write_project(
        """
        project: demo
        inbox: {id: nope}
        colour: blue
        triggers:
          unused: {cron: "*/5 * *"}
        jobs:
          a: {file: jobs/a.py}
        """,
        files=["jobs/a.py"],
    )

    project = load_project_lenient(spec)

    assert list(project.jobs) == ["a"]
    assert [p.location for p in project.problems] == ["inbox.id", "colour", "triggers.unused.cron"]


@pytest.mark.parametrize("name_line", ["", "project: 'my project'"])
def test_missing_or_bad_project_name_raises_with_every_problem(write_project, name_line):
    spec = write_project(f"{name_line}\njobs:\n  a: {{file: jobs/missing.py}}\n")

    with pytest.raises(SpecError) as caught:
        load_project_lenient(spec)

    assert [p.location for p in caught.value.problems] == ["project", "jobs.a.file"]


def test_parse_project_takes_data_already_loaded(tmp_path):
    (tmp_path / "a.py").write_text("")

    project = parse_project(
        {"project": "demo", "jobs": {"a": {"file": "a.py"}, "b": {"file": "b.py"}}},
        tmp_path / "project.yaml",
    )

    assert list(project.jobs) == ["a"]
    assert [str(p) for p in project.problems] == [
        'jobs.b.file: b.py does not exist (hint: did you mean "a.py"?)'
    ]
