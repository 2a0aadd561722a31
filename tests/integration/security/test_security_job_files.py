"""Job file paths in a project spec never leave the project folder.

``jobs.<name>.file`` is resolved against the folder of project.yaml (openfn_airflow/spec/jobs.py,
``_read_file``); the resolved path is what the DAG's operator loads and runs
(openfn_airflow/runtime/job_files.py). Traversal, absolute paths and symlinks out of the folder
are spec errors at ``jobs.<name>.file``, the job is left out, and the good jobs stay.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from openfn_airflow.spec import SpecError, load_project, load_project_lenient

pytestmark = [pytest.mark.integration, pytest.mark.security]

JOB = "operations = []\n"


def _project(root: Path, file: str) -> Path:
    """A project folder whose job ``bad`` has ``file``, beside a good job ``good``."""
    folder = root / "project"
    (folder / "jobs").mkdir(parents=True, exist_ok=True)
    (folder / "jobs" / "good.py").write_text(JOB)
    (folder / "project.yaml").write_text(
        "project: traversal\n"
        "triggers:\n"
        "  hourly: {cron: '0 * * * *'}\n"
        "jobs:\n"
        "  good: {file: jobs/good.py, trigger: hourly}\n"
        f"  bad: {{file: {json.dumps(file)}, trigger: hourly}}\n"  # YAML reads JSON strings
    )
    return folder


def _assert_refused(folder: Path, *phrases: str) -> None:
    project = load_project_lenient(folder)
    assert list(project.jobs) == ["good"]  # the good job stays, the bad one is left out
    [problem] = [p for p in project.problems if p.location == "jobs.bad.file"]
    assert any(phrase in problem.message for phrase in phrases), problem.message
    with pytest.raises(SpecError) as raised:
        load_project(folder)
    assert "jobs.bad.file" in str(raised.value)
    good = project.jobs["good"].file
    assert good.is_relative_to(folder.resolve()) and good.name == "good.py"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A Python file beside the project folder, outside it."""
    path = tmp_path / "outside.py"
    path.write_text("import os\noperations = [lambda state: os.system('id')]\n")
    return path


@pytest.mark.parametrize(
    "file",
    [
        "../outside.py",
        "../../etc/passwd",
        "jobs/../../outside.py",
        "jobs/./../../outside.py",
        "/etc/passwd",
        "/etc/hostname.py",
        "//etc/passwd",
    ],
)
def test_traversal_and_absolute_paths_are_spec_errors(tmp_path, outside, file):
    folder = _project(tmp_path, file)

    _assert_refused(folder, "outside the project folder")


def test_the_absolute_path_of_a_file_outside_is_a_spec_error(tmp_path, outside):
    _assert_refused(_project(tmp_path, str(outside)), "outside the project folder")


def test_a_symlink_out_of_the_project_folder_is_a_spec_error(tmp_path, outside):
    folder = _project(tmp_path, "jobs/evil.py")
    (folder / "jobs" / "evil.py").symlink_to(outside)

    _assert_refused(folder, "outside the project folder")


def test_a_symlink_to_a_system_file_is_a_spec_error(tmp_path):
    folder = _project(tmp_path, "jobs/passwd.py")
    (folder / "jobs" / "passwd.py").symlink_to("/etc/passwd")

    _assert_refused(folder, "outside the project folder")


def test_a_symlinked_folder_out_of_the_project_is_a_spec_error(tmp_path, outside):
    folder = _project(tmp_path, "jobs/linked/outside.py")
    (folder / "jobs" / "linked").symlink_to(outside.parent, target_is_directory=True)

    _assert_refused(folder, "outside the project folder")


def test_a_symlink_inside_the_project_is_followed(tmp_path):
    folder = _project(tmp_path, "jobs/alias.py")
    (folder / "jobs" / "alias.py").symlink_to(folder / "jobs" / "good.py")

    project = load_project(folder)

    assert project.jobs["bad"].file == (folder / "jobs" / "good.py").resolve()


def test_a_project_folder_reached_through_a_symlink_keeps_its_jobs(tmp_path):
    # git-sync and many deployments make the DAGs folder a symlink to the checked-out commit.
    _project(tmp_path / "real", "jobs/good.py")
    (tmp_path / "current").symlink_to(tmp_path / "real", target_is_directory=True)

    project = load_project(tmp_path / "current" / "project")

    assert sorted(project.jobs) == ["bad", "good"]


@pytest.mark.parametrize(
    ("file", "phrase"),
    [
        ("jobs/a\x00.py", "not a usable path"),
        ("~/outside.py", "does not exist"),
        ("jobs\\..\\..\\outside.py", "does not exist"),
        ("file:///etc/passwd", "not a Python file"),
        ("jobs", "not a Python file"),
        ("jobs/good.py/..", "not a Python file"),
    ],
)
def test_odd_paths_are_spec_errors(tmp_path, outside, file, phrase):
    folder = _project(tmp_path, file)

    _assert_refused(folder, phrase, "does not exist", "outside the project folder")


def test_a_symlink_loop_is_a_spec_error(tmp_path):
    folder = _project(tmp_path, "jobs/loop.py")
    (folder / "jobs" / "loop.py").symlink_to(folder / "jobs" / "loop.py")

    _assert_refused(folder, "not a usable path", "does not exist")


def test_a_file_name_too_long_for_the_system_is_a_spec_error(tmp_path):
    folder = _project(tmp_path, "jobs/" + "a" * 300 + ".py")

    _assert_refused(folder, "not a usable path", "does not exist")


def test_the_dag_of_a_refused_job_is_never_built(tmp_path, outside):
    """The DAG factory builds DAGs of valid jobs only: no operator ever gets an outside path."""
    from openfn_airflow.dags.factory import build_project_dags

    folder = _project(tmp_path, "../outside.py")
    dags, errors = build_project_dags(load_project_lenient(folder))

    assert sorted(dags) == ["openfn__traversal__good"] and errors == []
    for dag in dags.values():
        for task in dag.tasks:
            job_file = getattr(task, "job_file", None)
            if job_file is not None:
                assert Path(job_file).is_relative_to(folder.resolve()), job_file
                assert os.path.realpath(job_file) != str(outside)
