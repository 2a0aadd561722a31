"""Finding specs in a folder and validating them together, as the CLI and DAG folder do."""

from __future__ import annotations

from openfn_airflow.spec import find_projects, validate_path


def test_find_projects_is_recursive_sorted_and_skips_hidden_folders(write_project, tmp_path):
    write_project("project: b\n", folder="b")
    write_project("project: a\n", folder="a/nested", name="project.yml")
    write_project("project: hidden\n", folder=".git/x")
    write_project("project: cache\n", folder="__pycache__")
    (tmp_path / "b" / "other.yaml").write_text("project: nope\n")

    assert find_projects(tmp_path) == [
        tmp_path / "a/nested/project.yml",
        tmp_path / "b/project.yaml",
    ]


def test_find_projects_survives_a_symlink_loop(write_project, tmp_path):
    write_project("project: a\n", folder="a")
    (tmp_path / "a" / "loop").symlink_to(tmp_path)

    assert find_projects(tmp_path) == [tmp_path / "a/project.yaml"]


def test_validate_path_reports_problems_per_spec(write_project, tmp_path):
    good = write_project("project: good\n", folder="good")
    bad = write_project("project: bad\njobs:\n  x: {file: jobs/x.py}\n", folder="bad")
    broken = write_project("jobs: [\n", folder="broken")

    results = dict(validate_path(tmp_path))

    assert results[good] == []
    assert [str(p) for p in results[bad]][0].startswith("jobs.x.file: jobs/x.py does not exist")
    assert results[broken][0].message.startswith("not valid YAML")


def test_validate_path_takes_a_single_spec(write_project):
    spec = write_project("project: demo\ncolour: blue\n")

    [(path, problems)] = validate_path(spec)

    assert path == spec
    assert [p.location for p in problems] == ["colour"]


def test_validate_path_flags_projects_sharing_a_name_or_inbox(write_project, tmp_path):
    inbox = "7c1e2a4e-8d1b-4c59-9d0b-6a3f2f3e4b1a"
    write_project(f"project: demo\ninbox: {{id: {inbox}}}\n", folder="one")
    second = write_project(f"project: demo\ninbox: {{id: {inbox}}}\n", folder="two")

    results = dict(validate_path(tmp_path))

    assert [p.location for p in results[second]] == ["project", "inbox.id"]
    assert 'the project name "demo" is also used by' in results[second][0].message


def test_validate_path_reports_nothing_to_check(tmp_path):
    assert (
        validate_path(tmp_path)[0][1][0].message
        == "no project.yaml or project.yml under this folder"
    )
    assert validate_path(tmp_path / "nope")[0][1][0].message == "does not exist"
