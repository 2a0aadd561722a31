"""retention: how long a project's messages and runs are kept; wrong periods are clear problems."""

from __future__ import annotations

import pytest

from openfn_airflow.spec import Retention, load_project, load_project_lenient

DAY = 86400.0


def spec_with_retention(write_project, retention: str):
    return write_project(
        f"""
        project: demo
        {retention}
        triggers:
          form: {{criteria: {{formID: x}}}}
        jobs:
          a: {{file: jobs/a.py, trigger: form}}
        """,
        files=["jobs/a.py"],
    )


@pytest.mark.parametrize(
    ("written", "messages", "runs"),
    [
        ("retention: {messages: 90d, runs: 30d}", 90 * DAY, 30 * DAY),
        ("retention: {messages: 7d}", 7 * DAY, None),
        ("retention: {runs: 365d}", None, 365 * DAY),
        ("retention: {messages: 1d12h, runs: 36h}", 1.5 * DAY, 1.5 * DAY),
        ("retention: {messages: null, runs: 86400}", None, DAY),
        ("retention: {}", None, None),
        ("retention:", None, None),
        ("", None, None),
    ],
)
def test_periods_are_read_as_seconds_and_absent_keeps_forever(
    write_project, written, messages, runs
):
    project = load_project(spec_with_retention(write_project, written))
    assert project.retention == Retention(messages=messages, runs=runs)
    assert project.retention.keeps_everything is (messages is None and runs is None)


@pytest.mark.parametrize(
    ("written", "location", "message", "hint"),
    [
        (
            "retention: 30d",
            "retention",
            'expected a mapping of periods by kind of activity, got "30d" (text)',
            "e.g. retention: {messages: 90d, runs: 30d}",
        ),
        (
            "retention: {messages: 90}",
            "retention.messages",
            "90 seconds is shorter than a day",
            "a number alone is seconds: write 90d for days",
        ),
        (
            "retention: {runs: 12h}",
            "retention.runs",
            '"12h" is shorter than a day, the least retention',
            "e.g. runs: 30d",
        ),
        (
            "retention: {runs: 0}",
            "retention.runs",
            "0 seconds is shorter than a day",
            "leave runs out to keep them forever",
        ),
        (
            "retention: {runs: -30d}",
            "retention.runs",
            '"-30d" is not a duration',
            "e.g. runs: 30d",
        ),
        (
            "retention: {runs: thirty days}",
            "retention.runs",
            '"thirty days" is not a duration',
            "e.g. runs: 30d",
        ),
        (
            "retention: {runs: true}",
            "retention.runs",
            "expected a period such as 30d, got true (true/false)",
            "e.g. runs: 30d",
        ),
        (
            "retention: {runs: [30d]}",
            "retention.runs",
            "expected a duration",
            "e.g. runs: 30d",
        ),
        (
            "retention: {message: 30d}",
            "retention.message",
            'unknown key "message"',
            'did you mean "messages"?',
        ),
        (
            "retention: {history: 30d}",
            "retention.history",
            'unknown key "history"',
            "write runs: 30d",
        ),
    ],
)
def test_a_wrong_period_is_one_problem_with_location_and_hint(
    write_project, written, location, message, hint
):
    project = load_project_lenient(spec_with_retention(write_project, written))
    [problem] = project.problems
    assert problem.location == location
    assert message in problem.message
    assert hint in problem.hint


def test_a_wrong_period_keeps_everything_and_the_jobs(write_project):
    project = load_project_lenient(
        spec_with_retention(write_project, "retention: {messages: 90d, runs: 2h}")
    )
    # nothing is deleted on the strength of a spec with a problem in its retention
    assert project.retention == Retention(messages=90 * DAY, runs=None)
    assert list(project.jobs) == ["a"]


def test_retention_problems_are_reported_with_the_others_in_file_order(write_project):
    spec = write_project(
        """
        project: demo
        retention: {messages: soon, runs: 1h}
        jobs:
          a: {file: jobs/missing.py}
        """
    )
    project = load_project_lenient(spec)
    assert [p.location for p in project.problems] == [
        "retention.messages",
        "retention.runs",
        "jobs.a.file",
    ]
