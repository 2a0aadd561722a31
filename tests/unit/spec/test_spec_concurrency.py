"""concurrency: at the project's top level: one Airflow pool for all its jobs' runs."""

from __future__ import annotations

import pytest

from openfn_airflow.spec import load_project_lenient


def spec_with(write_project, line: str):
    return write_project(
        f"""
        project: demo
        {line}
        triggers:
          form: {{criteria: {{formID: x}}}}
        jobs:
          a: {{file: jobs/a.py, trigger: form, concurrency: 2}}
        """,
        files=["jobs/a.py"],
    )


def test_a_project_concurrency_names_the_projects_pool(write_project):
    project = load_project_lenient(spec_with(write_project, "concurrency: 4"))
    assert project.problems == ()
    assert (project.concurrency, project.pool) == (4, "openfn__demo")
    assert project.jobs["a"].concurrency == 2  # a job's own limit stays its DAG's


def test_without_one_the_project_has_no_pool(write_project):
    project = load_project_lenient(spec_with(write_project, ""))
    assert (project.concurrency, project.pool) == (None, None)


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "true"])
def test_a_concurrency_that_is_not_a_whole_number_is_a_problem(write_project, value):
    project = load_project_lenient(spec_with(write_project, f"concurrency: {value}"))
    [problem] = project.problems
    assert problem.location == "concurrency"
    assert "whole number of 1 or more" in problem.message
    assert "all jobs together" in problem.hint
    assert project.pool is None and "a" in project.jobs  # the jobs still load
