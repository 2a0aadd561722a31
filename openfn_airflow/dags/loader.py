"""Entry points of the thin DAG files: load every project under a folder.

Two DAG files call these: one builds the DAGs of every valid job, the other raises the spec
problems so they show in Airflow's "DAG import errors". They must be two files because Airflow
marks every DAG of a file with an import error as stale, which would stop the valid jobs too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from openfn_airflow.spec import Problem, SpecError, find_projects, load_project_lenient

log = logging.getLogger(__name__)


class ProjectSpecError(Exception):
    """Every problem of every project spec under a folder, reported at once."""


def load_dags(folder: str | Path, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the DAGs of every valid job of every project under ``folder``.

    Broken specs and jobs are left out here (``check_specs`` reports them); the DAGs are put in
    ``namespace`` (the calling DAG file's ``globals()``) so Airflow finds them.
    """
    from openfn_airflow.dags.factory import build_project_dags

    built: dict[str, Any] = {}
    for spec_path in find_projects(folder):
        try:
            project = load_project_lenient(spec_path)
        except SpecError:
            log.exception("Project spec %s cannot be read", spec_path)
            continue
        dags, _ = build_project_dags(project)
        built.update(dags)
    if namespace is not None:
        namespace.update(built)
    return built


def spec_problems(folder: str | Path) -> list[str]:
    """Every problem of every project under ``folder``, one line each, prefixed by its file."""
    from openfn_airflow.dags.factory import build_project_dags

    lines: list[str] = []
    for spec_path in find_projects(folder):
        try:
            project = load_project_lenient(spec_path)
        except SpecError as exc:
            lines.extend(f"{spec_path}: {problem}" for problem in _problems(exc))
            continue
        lines.extend(f"{spec_path}: {problem}" for problem in project.problems)
        _, errors = build_project_dags(project)
        lines.extend(f"{spec_path}: {error}" for error in errors)
    return lines


def _problems(exc: SpecError) -> list[Problem | str]:
    return list(exc.problems) or [str(exc)]


def check_specs(folder: str | Path) -> None:
    """Raise ``ProjectSpecError`` listing every problem, so it shows as a DAG import error."""
    lines = spec_problems(folder)
    if lines:
        raise ProjectSpecError(
            f"{len(lines)} problem(s) in OpenFn project specs:\n"
            + "\n".join(f"- {line}" for line in lines)
        )
