"""Entry points of the thin DAG files: load every project under a folder.

Two DAG files call these: one builds the DAGs of every valid job, the other raises the spec
problems so they show in Airflow's "DAG import errors". They must be two files because Airflow
marks every DAG of a file with an import error as stale, which would stop the valid jobs too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from openfn_airflow import canary
from openfn_airflow.spec import SpecError, find_projects, load_project_lenient, validate_path

log = logging.getLogger(__name__)


class ProjectSpecError(Exception):
    """Every problem of every project spec under a folder, reported at once."""


def load_dags(folder: str | Path, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the DAGs of every valid job of every project under ``folder``.

    Broken specs and jobs are left out here (``check_specs`` reports them); the DAGs are put in
    ``namespace`` (the calling DAG file's ``globals()``) so Airflow finds them. When two specs
    share a project name, or jobs of two projects a DAG id (``a`` + ``b__x``, ``a__b`` + ``x``),
    the first (in path order) keeps its DAGs; ``check_specs`` reports the others. The DAGs
    folder also builds the canary project when ``[openfn] canary`` is on.
    """
    from airflow.sdk import get_parsing_context

    from openfn_airflow.dags.factory import DAG_ID_PREFIX, build_project_dags, dag_id_for

    built: dict[str, Any] = {}
    names: set[str] = set()
    # A task process parses this file for one DAG: building only that one saves it a second of
    # CPU per task (measured in bench/runtime.py).
    only = get_parsing_context().dag_id
    if only is not None and not only.startswith(f"{DAG_ID_PREFIX}__"):
        only = None
    repo = _use_adaptors_repository()
    specs = find_projects(folder)
    # The built-in canary ([openfn] canary) comes last: a project of the folder keeps its name.
    specs += [path for extra in canary.folders_for(folder) for path in find_projects(extra)]
    for spec_path in specs:
        try:
            project = load_project_lenient(spec_path)
        except SpecError:
            log.exception("Project spec %s cannot be read", spec_path)
            continue
        if project.name in names:
            log.error("Project %s of %s is defined twice; ignored", project.name, spec_path)
            continue
        names.add(project.name)
        if only is None:
            _install_missing_adaptors(repo, project)
        if only is not None and not only.startswith(dag_id_for(project.name, "")):
            continue
        dags, _ = build_project_dags(project, only)
        for dag_id, dag in dags.items():
            if dag_id in built:
                log.error("DAG %s of %s is another project's DAG id; ignored", dag_id, spec_path)
                continue
            built[dag_id] = dag
    if namespace is not None:
        namespace.update(built)
    return built


def _use_adaptors_repository() -> Path:
    """Check specs against ``[openfn] adaptors_path`` (then the npm registry)."""
    from openfn_airflow.dags.settings import adaptors_path
    from openfn_airflow.spec.adaptors import RepositoryCatalog, set_default_catalog

    repo = Path(adaptors_path())
    set_default_catalog(RepositoryCatalog(repo))
    return repo


def _install_missing_adaptors(repo: Path, project: Any) -> None:
    """Start installing the adaptors the project's jobs need and lack, without waiting.

    The parse must stay within dag_file_processor_timeout, so npm runs in a detached process
    holding the repository's lock; the DAGs are built anyway, and a task that starts before
    the install is done fails with exit 3 saying the adaptor is not installed.
    """
    from openfn_airflow.runtime import adaptors_repo

    wanted = list(dict.fromkeys(p for job in project.jobs.values() for p in job.adaptors))
    if not wanted:
        return
    try:
        if adaptors_repo.install_in_background(repo, wanted):
            log.info("Installing adaptors %s into %s in the background", wanted, repo)
    except OSError:
        log.exception("Could not start installing adaptors into %s", repo)


def spec_problems(folder: str | Path) -> list[str]:
    """Every problem of every project under ``folder``, one line each, prefixed by its file."""
    from openfn_airflow.dags.factory import build_project_dags

    specs = find_projects(folder)
    if not specs:
        return []
    _use_adaptors_repository()
    lines = [
        f"{spec_path}: {problem}"
        for spec_path, problems in validate_path(folder)
        for problem in problems
    ]
    for spec_path in specs:
        try:
            project = load_project_lenient(spec_path)
        except SpecError:
            continue  # validate_path reported it
        _, errors = build_project_dags(project)
        lines.extend(f"{spec_path}: {error}" for error in errors)
    return lines


def check_specs(folder: str | Path) -> None:
    """Raise ``ProjectSpecError`` listing every problem, so it shows as a DAG import error."""
    lines = spec_problems(folder)
    if lines:
        raise ProjectSpecError(
            f"{len(lines)} problem(s) in OpenFn project specs:\n"
            + "\n".join(f"- {line}" for line in lines)
        )
