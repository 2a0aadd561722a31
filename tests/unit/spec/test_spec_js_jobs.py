"""JavaScript jobs in the spec: the adaptor each needs, checked against a catalog of versions."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from openfn_airflow.spec import SpecError, load_project, load_project_lenient
from openfn_airflow.spec.adaptors import (
    CACHE_FILE,
    RepositoryCatalog,
    StaticCatalog,
    Versions,
    using_catalog,
)

HTTP = "@openfn/language-http"
CATALOG = {
    HTTP: ["6.4.3", "7.2.9", "7.2.10"],
    "@openfn/language-common": ["3.2.3", "3.3.4"],
}


@pytest.fixture
def catalog():
    with using_catalog(StaticCatalog(CATALOG)) as fake:
        yield fake


def js_spec(write_project, settings: str):
    return write_project(
        f"project: demo\njobs:\n  a: {{file: jobs/a.js, {settings}}}\n",
        files=["jobs/a.js", "jobs/b.py"],
    )


def problems_of(spec):
    with pytest.raises(SpecError) as caught:
        load_project(spec)
    return caught.value.problems


def test_a_js_job_runs_on_the_exact_version_it_names(write_project, catalog):
    spec = js_spec(write_project, f"adaptor: '{HTTP}@7.2.10'")

    job = load_project(spec).jobs["a"]

    assert job.adaptors == (f"{HTTP}@7.2.10",)
    assert job.language == "javascript"


def test_several_adaptors_are_kept_in_order(write_project, catalog):
    spec = js_spec(write_project, f"adaptors: ['{HTTP}@6.4.3', '@openfn/language-common@3.3.4']")

    assert load_project(spec).jobs["a"].adaptors == (
        f"{HTTP}@6.4.3",
        "@openfn/language-common@3.3.4",
    )


def test_latest_is_resolved_once_when_the_spec_is_loaded(write_project, catalog):
    spec = js_spec(write_project, f"adaptor: '{HTTP}@latest'")

    assert load_project(spec).jobs["a"].adaptors == (f"{HTTP}@7.2.10",)


def test_an_installed_version_needs_no_lookup(write_project):
    fake = StaticCatalog({}, installed_packages={f"{HTTP}@7.2.10"})
    spec = js_spec(write_project, f"adaptor: '{HTTP}@7.2.10'")

    with using_catalog(fake):
        assert load_project(spec).jobs["a"].adaptors == (f"{HTTP}@7.2.10",)
    assert fake.asked == []


@pytest.mark.parametrize(
    ("settings", "location", "message", "hint"),
    [
        ("trigger: null", "jobs.a.adaptor", "a JavaScript job needs an adaptor", "adaptor:"),
        (
            f"adaptor: '{HTTP}@7.2.11'",
            "jobs.a.adaptor",
            f"{HTTP} has no version 7.2.11",
            'did you mean "7.2.10"? versions: 6.4.3, 7.2.9, 7.2.10',
        ),
        (
            "adaptor: '@openfn/language-htp@7.2.10'",
            "jobs.a.adaptor",
            "there is no adaptor @openfn/language-htp in the npm registry",
            f'did you mean "{HTTP}"?',
        ),
        (f"adaptor: '{HTTP}@^7.2.0'", "jobs.a.adaptor", "is not an exact version", "@latest"),
        (f"adaptor: '{HTTP}'", "jobs.a.adaptor", "with its version", f"{HTTP}@latest"),
        ("adaptor: 'language-http@7.2.10'", "jobs.a.adaptor", "with its version", "@scope"),
        (
            "adaptor: '@acme/language-x@1.0.0'",
            "jobs.a.adaptor",
            "not an OpenFn adaptor",
            "@openfn/",
        ),
        ("adaptor: 7", "jobs.a.adaptor", "expected an adaptor package", "e.g."),
        ("adaptors: []", "jobs.a.adaptors", "expected a list of adaptor packages", "e.g."),
        (
            f"adaptors: ['{HTTP}@7.2.10', '{HTTP}@6.4.3']",
            "jobs.a.adaptors[1]",
            f"{HTTP} is named twice",
            "one version",
        ),
        (
            f"adaptor: '{HTTP}@7.2.10', adaptors: ['{HTTP}@7.2.10']",
            "jobs.a",
            "adaptor and adaptors are both set",
            "keep one",
        ),
    ],
)
def test_adaptor_problems(write_project, catalog, settings, location, message, hint):
    spec = js_spec(write_project, settings)

    problems = problems_of(spec)

    assert len(problems) == 1, problems
    assert problems[0].location == location
    assert message in problems[0].message
    assert hint in problems[0].hint


def test_a_python_job_with_an_adaptor_is_told_to_import_it(write_project, catalog):
    spec = write_project(
        f"project: demo\njobs:\n  b: {{file: jobs/b.py, adaptor: '{HTTP}@7.2.10'}}\n",
        files=["jobs/b.py"],
    )

    (problem,) = problems_of(spec)

    assert problem.location == "jobs.b.adaptor"
    assert "Python jobs import their adaptors" in problem.hint


def test_expression_points_at_a_js_file(write_project, catalog):
    spec = js_spec(write_project, f"adaptor: '{HTTP}@7.2.10', expression: 'fn(s => s)'")

    (problem,) = problems_of(spec)

    assert problem.location == "jobs.a.expression"
    assert ".js file" in problem.hint


def test_a_job_with_a_bad_adaptor_is_dropped_and_the_others_kept(write_project, catalog):
    spec = write_project(
        f"""
        project: demo
        jobs:
          good: {{file: jobs/a.js, adaptor: '{HTTP}@7.2.10'}}
          bad: {{file: jobs/a.js, adaptor: '{HTTP}@9.9.9'}}
          py: {{file: jobs/b.py}}
        """,
        files=["jobs/a.js", "jobs/b.py"],
    )

    project = load_project_lenient(spec)

    assert set(project.jobs) == {"good", "py"}
    assert project.jobs["py"].adaptors == ()


def test_an_unreachable_registry_is_a_problem_not_a_crash(write_project):
    class Away(StaticCatalog):
        def versions(self, name: str) -> Versions:
            return Versions(error="the npm registry could not be reached (ENOTFOUND)")

    spec = js_spec(write_project, f"adaptor: '{HTTP}@7.2.10'")

    with using_catalog(Away()):
        (problem,) = problems_of(spec)

    assert "could not be checked: the npm registry could not be reached" in problem.message
    assert "openfn-airflow adaptors install" in problem.hint


def test_latest_falls_back_to_the_newest_installed_when_the_registry_is_away(write_project):
    class Away(StaticCatalog):
        def versions(self, name: str) -> Versions:
            return Versions(error="no network")

    installed = {f"{HTTP}@6.4.3", f"{HTTP}@7.2.10", f"{HTTP}@7.10.0"}
    spec = js_spec(write_project, f"adaptor: '{HTTP}@latest'")

    with using_catalog(Away(installed_packages=installed)):
        assert load_project(spec).jobs["a"].adaptors == (f"{HTTP}@7.10.0",)


def fake_npm(folder, answer: dict, calls):
    """An ``npm`` on PATH that answers ``npm view`` with `answer` and counts its calls."""
    script = folder / "npm"
    script.write_text(
        f"#!/bin/sh\necho called >> {calls}\ncat <<'EOF'\n{json.dumps(answer)}\nEOF\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_the_registry_answer_is_cached_in_the_repository(tmp_path, monkeypatch):
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    calls = tmp_path / "calls"
    fake_npm(
        bin_folder, {"versions": ["7.2.9", "7.2.10"], "dist-tags": {"latest": "7.2.10"}}, calls
    )
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    repo = tmp_path / "adaptors"

    first = RepositoryCatalog(repo).versions(HTTP)
    again = RepositoryCatalog(repo).versions(HTTP)  # another process: reads the cache file

    assert first == again == Versions(("7.2.9", "7.2.10"), "7.2.10")
    assert calls.read_text().count("called") == 1
    assert HTTP in json.loads((repo / CACHE_FILE).read_text())

    stale = RepositoryCatalog(repo, cache_seconds=0)
    time.sleep(0.01)
    assert stale.versions(HTTP).latest == "7.2.10"
    assert calls.read_text().count("called") == 2


@pytest.mark.skipif(
    not os.environ.get("OPENFN_ONLINE_TESTS") and not os.environ.get("CI"),
    reason="asks the real npm registry (set OPENFN_ONLINE_TESTS=1)",
)
def test_the_real_registry_knows_language_common(tmp_path):
    catalog = RepositoryCatalog(tmp_path)

    answer = catalog.versions("@openfn/language-common")
    unknown = catalog.versions("@openfn/language-does-not-exist-here")

    assert "3.3.4" in answer.versions and answer.latest
    assert unknown.unknown
