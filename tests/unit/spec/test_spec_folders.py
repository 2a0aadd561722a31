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


def test_validate_path_flags_dag_ids_that_collide_across_projects(write_project, tmp_path):
    # openfn__a__b__x either way: project "a" + job "b__x", project "a__b" + job "x".
    first = write_project(
        "project: a\njobs:\n  b__x: {file: jobs/x.py}\n  y: {file: jobs/x.py}\n",
        files=["jobs/x.py"],
        folder="one",
    )
    second = write_project(
        "project: a__b\njobs:\n  x: {file: jobs/x.py}\n", files=["jobs/x.py"], folder="two"
    )

    results = dict(validate_path(tmp_path))

    [mine] = results[first]
    [theirs] = results[second]
    assert (mine.location, theirs.location) == ("jobs.b__x", "jobs.x")
    for problem, other in ((mine, second), (theirs, first)):
        assert "openfn__a__b__x" in problem.message
        assert 'job "b__x" of project "a"' in problem.message
        assert 'job "x" of project "a__b"' in problem.message
        assert str(other) in problem.message
        assert "rename" in problem.hint and "__" in problem.hint


def test_validate_path_flags_a_collision_once_per_spec_and_job(write_project, tmp_path):
    specs = [
        write_project(f"project: {name}\njobs:\n  {job}: {{file: j.py}}\n", ["j.py"], folder=name)
        for name, job in (("a", "b__c__d"), ("a__b", "c__d"), ("a__b__c", "d"))
    ]

    results = dict(validate_path(tmp_path))

    for spec in specs:
        [problem] = results[spec]
        assert "openfn__a__b__c__d" in problem.message
        assert problem.message.count("also the DAG id of") == 1
        # Each names the other two.
        assert sum(str(other) in problem.message for other in specs if other != spec) == 2


def test_validate_path_takes_projects_whose_dag_ids_differ(write_project, tmp_path):
    one = write_project("project: a\njobs:\n  b__x: {file: j.py}\n", ["j.py"], folder="one")
    two = write_project("project: a__b\njobs:\n  y: {file: j.py}\n", ["j.py"], folder="two")

    assert dict(validate_path(tmp_path)) == {one: [], two: []}
