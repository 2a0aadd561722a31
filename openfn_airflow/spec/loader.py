"""Loading a project.yaml from disk, strictly or leniently."""

from __future__ import annotations

from pathlib import Path

from openfn_airflow.spec.documents import read_document
from openfn_airflow.spec.models import Project
from openfn_airflow.spec.problems import Problem, SpecError
from openfn_airflow.spec.projects import build_project

SPEC_NAMES = ("project.yaml", "project.yml")


def load_project(path: str | Path) -> Project:
    """Load the spec at `path` (a project.yaml, or a folder holding one).

    Raises SpecError listing every problem when anything in the spec is wrong.
    """
    project = load_project_lenient(path)
    if project.problems:
        raise SpecError(project.problems, project.spec_path)
    return project


def load_project_lenient(path: str | Path) -> Project:
    """Load the spec at `path`, keeping what is valid.

    The returned project lists its problems and holds only the jobs that can run: a job is
    dropped when its settings, file or trigger have a problem, when it is in a success/failure
    loop, or when its upstream job was dropped. Archived jobs are kept apart (``archived``); a
    job on an archived one stays, with a note. Raises SpecError only when the file cannot be
    read or parsed as YAML, or the project name is missing or invalid.
    """
    spec_path = spec_file(Path(path))
    document = read_document(spec_path)
    return build_project(document.data, spec_path, document.problems)


def spec_file(path: Path) -> Path:
    """Return the absolute spec path for `path`, looking inside it when it is a folder."""
    path = path.absolute()
    if not path.is_dir():
        return path
    for name in SPEC_NAMES:
        if (path / name).is_file():
            return path / name
    raise SpecError(
        [
            Problem(
                "",
                "no project.yaml or project.yml in this folder",
                "give the path of a project spec",
            )
        ],
        path,
    )
