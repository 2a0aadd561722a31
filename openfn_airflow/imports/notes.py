"""IMPORT-NOTES.md: what an import carried over, what it did not, and what to do next."""

from __future__ import annotations

from collections.abc import Sequence

from openfn_airflow.imports.models import ImportedProject


def render_notes(project: ImportedProject, export_name: str, problems: Sequence[str]) -> str:
    """Return the notes for `project`, imported from the file `export_name`.

    `problems` are what the spec check found in the written project.yaml.
    """
    jobs, triggers = len(project.jobs), len(project.triggers)
    lines = [
        f"# Import notes: {project.name}",
        "",
        f"Imported from the {project.source_format} export `{export_name}` by "
        "`openfn-airflow import`:",
        f"{jobs} job(s) in jobs/*.js (their code unchanged), {triggers} trigger(s), "
        f"{len(project.connections)} connection(s) to create (connections.md).",
        "",
        "## Not carried over, or carried over differently",
        "",
    ]
    lines += [f"- {note}" for note in project.notes] or [
        "- nothing: every part of the export has a place here"
    ]
    if project.source_format.startswith("Lightning"):
        lines.append(
            "- every Lightning edge becomes a run of its own here: a job on another job's "
            "success starts from that run's final state; on its failure, from that run's "
            "initial state plus `error` (not from its final state with `errors`)"
        )
    if project.renamed:
        lines += ["", "## Names changed", "", "| what | in the export | here |", "|---|---|---|"]
        lines += [f"| {kind} | {old} | {new} |" for kind, old, new in project.renamed]
    lines += ["", "## Spec check", ""]
    if problems:
        lines.append("`openfn-airflow validate` finds these problems in the written project.yaml:")
        lines.append("")
        lines += [f"- {problem}" for problem in problems]
    else:
        lines.append("The written project.yaml passes `openfn-airflow validate`.")
    lines += [
        "",
        "## Next steps",
        "",
        "1. Create the Airflow connections listed in connections.md.",
        "2. Install the adaptors the jobs pin: `openfn-airflow adaptors install <this folder>`.",
        "3. Put this folder in the DAGs folder (or the git repository of a DAG bundle).",
        "",
    ]
    return "\n".join(lines)
