"""Two projects whose jobs have one DAG id (``a`` + ``b__x``, ``a__b`` + ``x``), as Airflow sees them.

The "DAG import errors" banner names both jobs and both specs; the DAG is the first project's (in
path order, as with two projects of one name), never silently replaced by the second's.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

pytestmark = pytest.mark.integration

REPO_DAGS = Path(__file__).resolve().parents[3] / "dags"
DAG_FILES = ("openfn_jobs.py", "openfn_spec_check.py", ".airflowignore")
PROJECTS = {
    "one": """
        project: a
        jobs:
          b__x: {file: jobs/echo.py, owner: team-a}
          y: {file: jobs/echo.py, owner: team-a}
    """,
    "two": """
        project: a__b
        jobs:
          x: {file: jobs/echo.py, owner: team-ab}
    """,
}


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in DAG_FILES:
        shutil.copy(REPO_DAGS / name, folder / name)
    for name, spec in PROJECTS.items():
        (folder / name / "jobs").mkdir(parents=True)
        (folder / name / "project.yaml").write_text(textwrap.dedent(spec))
        (folder / name / "jobs" / "echo.py").write_text("operations = []\n")
    return folder


def test_colliding_dag_ids_are_an_import_error_naming_both_jobs(tmp_path):
    folder = _folder(tmp_path)

    bag = DagBag(folder)

    [(path, text)] = bag.import_errors.items()
    assert Path(path).name == "openfn_spec_check.py"
    one, two = folder / "one" / "project.yaml", folder / "two" / "project.yaml"
    [first] = [line for line in text.splitlines() if f"{one}: jobs.b__x:" in line]
    [second] = [line for line in text.splitlines() if f"{two}: jobs.x:" in line]
    for line in (first, second):
        assert "openfn__a__b__x" in line and "hint: rename" in line
        assert 'job "b__x" of project "a"' in line and 'job "x" of project "a__b"' in line


def test_the_first_project_keeps_a_colliding_dag_id(tmp_path):
    bag = DagBag(_folder(tmp_path))

    assert sorted(bag.dag_ids) == ["openfn__a__b__x", "openfn__a__y"]
    dag = bag.get_dag("openfn__a__b__x")
    assert "project:a" in dag.tags and dag.owner == "team-a"
