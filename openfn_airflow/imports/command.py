"""`openfn-airflow import PATH [--out DIR]`: an OpenFn export becomes a project here."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from openfn_airflow.imports.models import BadExport, ImportedProject
from openfn_airflow.imports.names import project_name
from openfn_airflow.imports.reader import export_file, read_export
from openfn_airflow.imports.writer import NOTES_NAME, write_project


def import_export(path: Path, out: Path | None = None) -> tuple[ImportedProject, Path, list[str]]:
    """Import the export at `path` into the new folder `out` (default ./<project name>).

    Returns the import, the folder written and the spec problems of what was written.
    Raises BadExport, having written nothing, when the export cannot be imported.
    """
    source = export_file(Path(path))
    project = read_export(source)
    out = Path(out) if out else Path.cwd() / project_name(project.name)
    return project, out, write_project(project, out, source.name)


def run(args: argparse.Namespace) -> int:
    """Import `args.path` into `args.out` (default: ./<project name>); print what happened.

    Returns 0 when the written project passes the spec check, 1 when it was written but
    has problems (listed), 2 when the export could not be imported (nothing written).
    """
    try:
        project, out, problems = import_export(Path(args.path), getattr(args, "out", None))
    except BadExport as error:
        print(f"openfn-airflow import: {error}", file=sys.stderr)
        print("nothing was written", file=sys.stderr)
        return 2
    print(
        f"imported {len(project.jobs)} job(s) and {len(project.triggers)} trigger(s) from the "
        f"{project.source_format} export {args.path} into {out}"
    )
    for connection in project.connections:
        print(f"  connection to create: {connection.conn_id} (see connections.md)")
    for kind, old, new in project.renamed:
        print(f"  {kind} {old!r} is named {new} here")
    if project.notes:
        print(f"not carried over, or carried over differently ({NOTES_NAME} lists them too):")
        for note in project.notes:
            print(f"  - {note}")
    if problems:
        print(f"the written project.yaml has {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    return 0
