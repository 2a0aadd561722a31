"""Every mistake in a spec is reported with its location and a hint, all at once."""

from __future__ import annotations

import pickle

import pytest

from openfn_airflow.spec import Problem, SpecError, load_project, load_project_lenient


def problems_of(spec) -> list[Problem]:
    with pytest.raises(SpecError) as caught:
        load_project(spec)
    return caught.value.problems


def only_problem(spec) -> Problem:
    problems = problems_of(spec)
    assert len(problems) == 1, problems
    return problems[0]


def spec_with_job(write_project, job: str, triggers: str = "{}"):
    """Write a spec with one job `a` whose settings are `job` (inline YAML)."""
    return write_project(
        f"project: demo\ntriggers: {triggers}\njobs:\n  a: {job}\n",
        files=["jobs/a.py", "jobs/b.py"],
    )


def test_five_mistakes_give_five_problems_in_file_order(write_project):
    spec = write_project(
        """
        project: demo
        triggers:
          every-5-min: {cron: "*/5 * *"}
          form: {criteria: {formID: x}, cron: "0 * * * *"}
        jobs:
          sync-cases: {file: jobs/sync_cases.py, trigger: every-5-min, concurrency: 0}
          register: {file: jobs/missing.py, trigger: from}
        """,
        files=["jobs/sync_cases.py"],
    )

    with pytest.raises(SpecError) as caught:
        load_project(spec)

    assert [p.location for p in caught.value.problems] == [
        "triggers.every-5-min.cron",
        "triggers.form",
        "jobs.sync-cases.concurrency",
        "jobs.register.file",
        "jobs.register.trigger",
    ]
    text = str(caught.value)
    assert text.startswith(f"{spec.resolve()}: 5 problems in project spec:\n  - ")
    assert (
        '  - triggers.every-5-min.cron: "*/5 * *" is not a cron expression (5 fields expected) (hint: '
        in text
    )
    assert len(text.splitlines()) == 6


def test_problem_and_error_text():
    problem = Problem("jobs.a.timeout", "bad", "fix it")

    assert str(problem) == "jobs.a.timeout: bad (hint: fix it)"
    assert str(Problem("", "the file is empty")) == "the file is empty"
    error = SpecError([problem, problem])
    assert str(error) == "1 problem in project spec:\n  - jobs.a.timeout: bad (hint: fix it)"
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


@pytest.mark.parametrize(
    ("job", "location", "message"),
    [
        (
            '{file: jobs/a.py, autoprocess: "yes"}',
            "jobs.a.autoprocess",
            'expected true or false, got "yes" (text)',
        ),
        (
            "{file: jobs/a.py, concurrency: 0}",
            "jobs.a.concurrency",
            "expected a whole number of 1 or more, got 0",
        ),
        (
            "{file: jobs/a.py, concurrency: 1.5}",
            "jobs.a.concurrency",
            "expected a whole number of 1 or more",
        ),
        ("{file: jobs/a.py, timeout: abc}", "jobs.a.timeout", '"abc" is not a duration'),
        ("{file: jobs/a.py, timeout: 0s}", "jobs.a.timeout", "more than 0 seconds"),
        (
            "{file: jobs/a.py, runs: parallel}",
            "jobs.a.runs",
            'expected auto, per-message or batched, got "parallel"',
        ),
        ("{file: jobs/a.py, tags: dhis2}", "jobs.a.tags", "expected a list of text"),
        (
            "{file: jobs/a.py, credential: 5}",
            "jobs.a.credential",
            "expected text, got 5 (a number)",
        ),
        (
            "{file: jobs/a.py, trigger: [x]}",
            "jobs.a.trigger",
            "expected a trigger name or an inline trigger",
        ),
        ("{file: 5}", "jobs.a.file", "expected a file path"),
        ("{trigger: t}", "jobs.a.file", 'required key "file" is missing'),
        ("jobs/a.py", "jobs.a", 'expected a mapping of job settings, got "jobs/a.py" (text)'),
    ],
)
def test_wrong_types_name_the_expected_type(write_project, job, location, message):
    problem = only_problem(spec_with_job(write_project, job, triggers="{t: {cron: '@daily'}}"))

    assert problem.location == location
    assert message in problem.message
    assert problem.hint


def test_unknown_keys_suggest_the_closest_key(write_project):
    spec = write_project(
        """
        project: demo
        jobs:
          a: {file: jobs/a.py, trigger: t, autoproces: true, expression: "fn()"}
        triggers:
          t: {critera: {x: 1}}
        credentials: {}
        """,
        files=["jobs/a.py"],
    )

    problems = {p.location: p for p in problems_of(spec)}

    assert problems["jobs.a.autoproces"].message == 'unknown key "autoproces"'
    assert problems["jobs.a.autoproces"].hint.startswith('did you mean "autoprocess"?')
    assert ".js file" in problems["jobs.a.expression"].hint
    assert problems["triggers.t.critera"].hint.startswith('did you mean "criteria"?')
    assert "Airflow connections" in problems["credentials"].hint
    assert (
        problems["triggers.t"].message
        == "a trigger needs one of criteria, cron, success or failure"
    )


def test_duplicate_keys_are_reported_with_their_line(write_project):
    spec = write_project(
        """\
        project: demo
        jobs:
          foo: {file: jobs/a.py}
          foo:
            file: jobs/a.py
            file: jobs/b.py
          bar: {file: jobs/a.py}
        """,
        files=["jobs/a.py", "jobs/b.py"],
    )

    project = load_project_lenient(spec)

    assert [str(p) for p in project.problems] == [
        'jobs.foo: duplicate key "foo" (line 4) (hint: each job name may appear once; '
        'the first "foo" is on line 3)',
        'jobs.foo.file: duplicate key "file" (line 6) (hint: each key may appear once in a '
        'mapping; the first "file" is on line 5)',
    ]
    assert list(project.jobs) == ["bar"]


@pytest.mark.parametrize(
    ("trigger", "location", "message"),
    [
        ("{}", "triggers.t", "a trigger needs one of criteria, cron, success or failure"),
        (
            "{criteria: {a: 1}, success: b}",
            "triggers.t",
            "exactly one of criteria, cron, success or failure; this one has criteria and success",
        ),
        (
            "{cron: '*/5 * *'}",
            "triggers.t.cron",
            '"*/5 * *" is not a cron expression (5 fields expected)',
        ),
        ("{cron: '0 0 * * * *'}", "triggers.t.cron", "(5 fields expected)"),
        ("{cron: '61 * * * *'}", "triggers.t.cron", 'minute "61" (allowed: 0-59)'),
        (
            "{cron: '0 0 0 * FUNDAY'}",
            "triggers.t.cron",
            'day-of-month "0" (allowed: 1-31 or L); day-of-week "FUNDAY"',
        ),
        ("{cron: '0 0 30 2 *'}", "triggers.t.cron", "never matches a date"),
        ("{cron: '@every-minute'}", "triggers.t.cron", "not a cron preset Airflow knows"),
        ("{cron: 5}", "triggers.t.cron", "expected a cron expression, got 5"),
        (
            "{cron: '@daily', timezone: Africa/Nairob}",
            "triggers.t.timezone",
            '"Africa/Nairob" is not a timezone',
        ),
        (
            "{criteria: {a: 1}, timezone: UTC}",
            "triggers.t.timezone",
            "timezone only applies to a cron trigger",
        ),
        (
            "{cron: '@daily', exclude: {a: 1}}",
            "triggers.t.exclude",
            "exclude only applies to a message filter",
        ),
        ("{criteria: '{formID: x}'}", "triggers.t.criteria", "not valid JSON"),
        (
            "{criteria: '\"x\"'}",
            "triggers.t.criteria",
            'expected a JSON object or array, got "x" (text)',
        ),
        ("{criteria: 5}", "triggers.t.criteria", "expected a JSON object or array, got 5"),
        ("{criteria: {day: 2024-01-01}}", "triggers.t.criteria.day", "2024-01-01 is a YAML date"),
        ("{success: [b]}", "triggers.t.success", "expected a job name, got a list"),
        ("{failure: bb}", "triggers.t.failure", 'unknown job "bb"'),
        (
            "every-minute",
            "triggers.t",
            "expected a mapping with one of criteria, cron, success or failure",
        ),
    ],
)
def test_trigger_problems(write_project, trigger, location, message):
    problem = only_problem(spec_with_job(write_project, "{file: jobs/a.py}", f"{{t: {trigger}}}"))

    assert problem.location == location
    assert message in problem.message
    assert problem.hint


def test_timezone_hint_suggests_the_closest_zone(write_project):
    spec = spec_with_job(
        write_project, "{file: jobs/a.py}", "{t: {cron: '@daily', timezone: Africa/Nairob}}"
    )

    assert only_problem(spec).hint == 'did you mean "Africa/Nairobi"?'


def test_unknown_upstream_job_hint_lists_close_names(write_project):
    spec = write_project(
        """
        project: demo
        triggers:
          failed: {failure: register-patent}
        jobs:
          register-patient: {file: jobs/a.py}
          alert: {file: jobs/a.py, trigger: failed}
        """,
        files=["jobs/a.py"],
    )

    problem = only_problem(spec)

    assert str(problem) == (
        'triggers.failed.failure: unknown job "register-patent" (hint: did you mean '
        '"register-patient"? jobs in this project: alert, register-patient)'
    )


def test_unknown_trigger_hint_lists_known_triggers(write_project):
    spec = spec_with_job(
        write_project,
        "{file: jobs/a.py, trigger: patient-from}",
        "{patient-form: {criteria: {}}, hourly: {cron: '@hourly'}}",
    )

    assert str(only_problem(spec)) == (
        'jobs.a.trigger: unknown trigger "patient-from" (hint: did you mean "patient-form"? '
        "triggers in this project: hourly, patient-form)"
    )


def test_job_triggered_by_itself(write_project):
    spec = spec_with_job(write_project, "{file: jobs/a.py, trigger: {success: a}}")

    problem = only_problem(spec)

    assert problem.location == "jobs.a.trigger"
    assert problem.message == 'job "a" runs on its own success'


def test_two_job_cycle_is_one_problem(write_project):
    spec = write_project(
        """
        project: demo
        triggers:
          b-ok: {success: b}
          a-failed: {failure: a}
        jobs:
          a: {file: jobs/a.py, trigger: b-ok}
          b: {file: jobs/a.py, trigger: a-failed}
        """,
        files=["jobs/a.py"],
    )

    problem = only_problem(spec)

    assert problem.location == "jobs.a.trigger"
    assert problem.message == "success/failure triggers form a cycle: a -> b -> a"


def test_longer_cycle_is_named_in_run_order(write_project):
    spec = write_project(
        """
        project: demo
        jobs:
          c: {file: jobs/a.py, trigger: {success: b}}
          b: {file: jobs/a.py, trigger: {failure: a}}
          a: {file: jobs/a.py, trigger: {success: c}}
          d: {file: jobs/a.py, trigger: {success: c}}
        """,
        files=["jobs/a.py"],
    )

    project = load_project_lenient(spec)

    assert [str(p.message) for p in project.problems] == [
        "success/failure triggers form a cycle: a -> b -> c -> a"
    ]
    assert project.jobs == {}  # d hangs off the loop, so it goes too


def test_missing_job_file(write_project):
    spec = spec_with_job(write_project, "{file: jobs/x.py}")

    problem = only_problem(spec)

    assert problem.location == "jobs.a.file"
    assert problem.message == "jobs/x.py does not exist"
    assert problem.hint


def test_missing_job_file_suggests_a_close_file(write_project):
    spec = spec_with_job(write_project, "{file: jobs/aa.py}")

    assert only_problem(spec).hint == 'did you mean "jobs/a.py"?'


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("../outside.py", "../outside.py is outside the project folder"),
        ("jobs/../../outside.py", "jobs/../../outside.py is outside the project folder"),
        ("/etc/passwd.py", "/etc/passwd.py is outside the project folder"),
        ("jobs/notes.txt", "jobs/notes.txt is not a Python file (.py) nor a JavaScript file (.js)"),
        ("jobs", "jobs is not a Python file (.py) nor a JavaScript file (.js)"),
    ],
)
def test_job_file_must_be_a_python_file_inside_the_project(write_project, tmp_path, file, message):
    (tmp_path / "outside.py").write_text("")
    spec = write_project(
        f"project: demo\njobs:\n  a: {{file: {file}}}\n",
        files=["jobs/notes.txt"],
        folder="project",
    )

    problem = only_problem(spec)

    assert (problem.location, problem.message) == ("jobs.a.file", message)


def test_absolute_path_inside_the_project_is_fine(write_project, tmp_path):
    job = tmp_path / "jobs" / "a.py"
    spec = spec_with_job(write_project, f"{{file: {job}}}")

    assert load_project(spec).jobs["a"].file == job.resolve()


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (
            "{file: jobs/a.py, runs: batched}",
            "batched runs need a message-filter trigger, and this job has no trigger",
        ),
        (
            "{file: jobs/a.py, runs: batched, trigger: t}",
            'batched runs need a message-filter trigger, and "t" is a cron trigger',
        ),
    ],
)
def test_batched_needs_a_message_filter(write_project, job, message):
    problem = only_problem(spec_with_job(write_project, job, "{t: {cron: '@daily'}}"))

    assert (problem.location, problem.message) == ("jobs.a.runs", message)


def test_inline_trigger_clashing_with_a_named_trigger(write_project):
    spec = spec_with_job(
        write_project, "{file: jobs/a.py, trigger: {cron: '@daily'}}", "{a: {cron: '@hourly'}}"
    )

    problem = only_problem(spec)

    assert problem.location == "jobs.a.trigger"
    assert 'a trigger "a" is already defined under triggers' in problem.message


def test_inline_trigger_problems_are_located_under_the_job(write_project):
    spec = spec_with_job(write_project, "{file: jobs/a.py, trigger: {cron: '*/5 * *'}}")

    assert only_problem(spec).location == "jobs.a.trigger.cron"


@pytest.mark.parametrize(
    ("text", "location", "message"),
    [
        ("project: my demo\n", "project", '"my demo" is not a valid project name'),
        ("project: demo.x\n", "project", '"demo.x" is not a valid project name'),
        ("project: 5\n", "project", "expected the project's name, got 5 (a number)"),
        ("jobs: {}\n", "project", 'required key "project" is missing'),
        ("project: demo\njobs: [a, b]\n", "jobs", "expected a mapping of jobs by name, got a list"),
        (
            "project: demo\njobs:\n  a b: {file: jobs/a.py}\n",
            "jobs.a b",
            '"a b" is not a valid job name',
        ),
        (
            "project: demo\ntriggers:\n  -t: {cron: '@daily'}\n",
            "triggers.-t",
            '"-t" is not a valid trigger name',
        ),
        (
            "project: demo\ninbox: {id: not-a-uuid}\n",
            "inbox.id",
            '"not-a-uuid" (text) is not a UUID',
        ),
        ("project: demo\nname: demo\n", "name", 'unknown key "name"'),
    ],
)
def test_project_level_problems(write_project, text, location, message):
    problem = only_problem(write_project(text, files=["jobs/a.py"]))

    assert (problem.location, problem.message) == (location, message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "expected a mapping, got a list"),
        ("project: demo\njobs:\n  a: {file: x\n", "not valid YAML"),
        ("project: !!python/name:os.system\n", "not valid YAML"),
    ],
)
def test_unusable_files_are_one_whole_file_problem(write_project, text, message):
    spec = write_project(text)

    with pytest.raises(SpecError) as caught:
        load_project_lenient(spec)

    [problem] = caught.value.problems
    assert problem.location == ""
    assert message in problem.message
    assert caught.value.path == spec.resolve()


def test_yaml_syntax_error_names_the_line(write_project):
    spec = write_project("project: demo\njobs:\n  a: {file: x\n")

    with pytest.raises(SpecError) as caught:
        load_project(spec)

    assert "line 4" in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError) as caught:
        load_project(tmp_path / "nope.yaml")

    assert str(caught.value) == (
        f"{tmp_path / 'nope.yaml'}: 1 problem in project spec:\n"
        "  - the file does not exist (hint: give the path of a project.yaml)"
    )


def test_inline_trigger_of_another_job_cannot_be_shared(write_project):
    spec = write_project(
        """
        project: demo
        jobs:
          hourly: {file: jobs/a.py, trigger: {cron: "0 * * * *"}}
          also-hourly: {file: jobs/a.py, trigger: hourly}
        """,
        files=["jobs/a.py"],
    )

    project = load_project_lenient(spec)

    assert list(project.jobs) == ["hourly"]
    [problem] = project.problems
    assert (problem.location, problem.message) == (
        "jobs.also-hourly.trigger",
        'unknown trigger "hourly"',
    )
    assert "move it under triggers:" in problem.hint
