"""Writing an import to its folder, all at once: a half-written project is never left behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import yaml

from openfn_airflow.imports.connections import render_connections
from openfn_airflow.imports.models import BadExport, ImportedProject
from openfn_airflow.imports.notes import render_notes

SPEC_NAME = "project.yaml"
NOTES_NAME = "IMPORT-NOTES.md"
CONNECTIONS_NAME = "connections.md"


def write_project(project: ImportedProject, out: Path, export_name: str) -> list[str]:
    """Write `project` into the new folder `out`; return the spec problems of what was written.

    The folder is built beside `out` and renamed into place at the end, so on any error
    nothing is left at `out`. Raises BadExport when `out` already exists with content.
    """
    out = out.absolute()
    _check_target(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.import-", dir=out.parent))
    try:
        (staging / "jobs").mkdir()
        for job in project.jobs:
            _write(staging / job.file, job.code)
        _write(staging / SPEC_NAME, render_spec(project, export_name))
        _write(staging / CONNECTIONS_NAME, render_connections(project))
        problems, resolved = check_spec(staging)
        _note_resolved(project, resolved)
        _write(staging / NOTES_NAME, render_notes(project, export_name, problems))
        staging.chmod(0o755)  # mkdtemp makes it 0700
        if out.is_dir():
            out.rmdir()  # _check_target saw it empty
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return problems


def render_spec(project: ImportedProject, export_name: str) -> str:
    """Return project.yaml for `project`, in this project's spec format."""
    document: dict[str, object] = {"project": project.name}
    if project.triggers:
        document["triggers"] = project.triggers
    document["jobs"] = {
        job.name: {
            "file": job.file,
            "adaptor": job.adaptor,
            **({"trigger": job.trigger} if job.trigger else {}),
            **({"credential": job.credential} if job.credential else {}),
            **job.settings,
        }
        for job in project.jobs
    }
    header = (
        f"# Imported from the {project.source_format} export {export_name} by openfn-airflow import.\n"
        f"# {NOTES_NAME} lists what did not carry over; {CONNECTIONS_NAME} the connections to create.\n"
    )
    body = yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    return header + body


def check_spec(folder: Path) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Load the project written in `folder`: its problems, and each loaded job's exact adaptors."""
    from openfn_airflow.spec import SpecError, load_project_lenient

    try:
        project = load_project_lenient(folder)
    except SpecError as error:
        return [str(problem) for problem in error.problems], {}
    resolved = {name: job.adaptors for name, job in project.jobs.items()}
    return [str(problem) for problem in project.problems], resolved


def _note_resolved(project: ImportedProject, resolved: dict[str, tuple[str, ...]]) -> None:
    """Say what each @latest stands for today, so the user can pin it."""
    for job in project.jobs:
        if job.adaptor.endswith("@latest") and resolved.get(job.name):
            exact = ", ".join(resolved[job.name])
            project.notes.append(
                f"job {job.name}: {job.adaptor} is {exact} today; write that in project.yaml "
                "to pin it"
            )


def _check_target(out: Path) -> None:
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise BadExport(
            "",
            f"{out} already exists",
            "give another folder with --out, or remove it; an import never overwrites files",
        )
    if not out.parent.is_dir():
        raise BadExport(
            "", f"the folder {out.parent} does not exist", "create it, or give another --out"
        )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:  # the code byte for byte
        file.write(text)
