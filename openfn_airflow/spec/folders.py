"""Finding project specs under a folder and checking them together, for the DAG folder and the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from openfn_airflow.spec.loader import SPEC_NAMES, load_project_lenient
from openfn_airflow.spec.models import job_dag_id
from openfn_airflow.spec.problems import Problem, SpecError


def find_projects(folder: str | Path) -> list[Path]:
    """Return every project.yaml / project.yml under `folder`, sorted.

    Hidden folders and __pycache__ are skipped; symlinked folders are followed once.
    """
    root = Path(folder).absolute()
    found: list[Path] = []
    visited: set[str] = set()
    for current, subfolders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(current)
        if real in visited:  # a symlink loop, or a folder linked twice
            subfolders[:] = []
            continue
        visited.add(real)
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d != "__pycache__"]
        found.extend(Path(current) / name for name in SPEC_NAMES if name in files)
    return sorted(found)


@dataclass(frozen=True)
class SpecCheck:
    """What checking one spec found: its problems (none: valid) and its notes (never errors)."""

    path: Path
    problems: list[Problem]
    notes: tuple[Problem, ...] = ()


def validate_path(path: str | Path) -> list[tuple[Path, list[Problem]]]:
    """Check the spec at `path`, or every spec under the folder `path` (see ``check_path``).

    Returns (spec path, problems) for each spec, an empty list of problems meaning valid.
    """
    return [(check.path, check.problems) for check in check_path(path)]


def check_path(path: str | Path) -> list[SpecCheck]:
    """Check the spec at `path`, or every spec under the folder `path`.

    Returns a SpecCheck for each spec, an empty list of problems meaning valid. Specs
    that share a project name or an inbox id get a problem each, since their DAG ids or inbox
    URLs would collide; so do jobs of different projects with one DAG id (project ``a`` with
    job ``b__x`` and project ``a__b`` with job ``x``), each naming the others. A path that
    does not exist, or a folder without specs, is reported as a problem of `path` itself.
    """
    target = Path(path)
    if not target.exists():
        return [
            SpecCheck(
                target,
                [
                    Problem(
                        "",
                        "does not exist",
                        "give the path of a project.yaml or a folder holding one",
                    )
                ],
            )
        ]
    specs = find_projects(target) if target.is_dir() else [target.absolute()]
    if not specs:
        return [
            SpecCheck(
                target,
                [
                    Problem(
                        "",
                        "no project.yaml or project.yml under this folder",
                        "give the path of a project spec",
                    )
                ],
            )
        ]
    results: list[SpecCheck] = []
    seen_names: dict[str, Path] = {}
    seen_inboxes: dict[str, Path] = {}
    dag_owners: dict[str, list[_DagOwner]] = {}
    for spec in specs:
        try:
            project = load_project_lenient(spec)
        except SpecError as error:
            results.append(SpecCheck(spec, list(error.problems)))
            continue
        problems = list(project.problems)
        for job in project.jobs:
            owner = _DagOwner(spec, project.name, job, problems)
            dag_owners.setdefault(job_dag_id(project.name, job), []).append(owner)
        if project.name in seen_names:
            problems.append(
                Problem(
                    "project",
                    f'the project name "{project.name}" is also used by {seen_names[project.name]}',
                    "give each project its own name: it is part of DAG ids and asset URIs",
                )
            )
        seen_names.setdefault(project.name, spec)
        if project.inbox_id is not None:
            if project.inbox_id in seen_inboxes:
                problems.append(
                    Problem(
                        "inbox.id",
                        f"the inbox id {project.inbox_id} is also used by {seen_inboxes[project.inbox_id]}",
                        "give each project its own inbox id, or remove it and one is generated",
                    )
                )
            seen_inboxes.setdefault(project.inbox_id, spec)
        results.append(SpecCheck(spec, problems, project.notes))
    for dag_id, owners in dag_owners.items():
        _report_dag_id_collision(dag_id, owners)
    return results


@dataclass(frozen=True)
class _DagOwner:
    """A job whose DAG id is taken, and the problem list of its spec."""

    spec: Path
    project: str
    job: str
    problems: list[Problem]

    def __str__(self) -> str:
        return f'job "{self.job}" of project "{self.project}"'


def _report_dag_id_collision(dag_id: str, owners: list[_DagOwner]) -> None:
    """Give each job of several projects that share ``dag_id`` a problem naming the others.

    Specs sharing a project name are reported as such; their jobs are not counted again here.
    """
    if len({owner.project for owner in owners}) < 2:
        return
    for owner in owners:
        others = ", ".join(
            f"{other} ({other.spec})" for other in owners if other.project != owner.project
        )
        owner.problems.append(
            Problem(
                f"jobs.{owner.job}",
                f"the DAG id {dag_id} of {owner} is also the DAG id of {others}",
                "rename one of the jobs or projects: a DAG id is openfn__<project>__<job>, "
                'so a "__" in a name can make two the same',
            )
        )
