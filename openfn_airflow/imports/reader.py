"""Reading an export: finding the file, parsing it, telling which OpenFn format it is."""

from __future__ import annotations

from pathlib import Path

import yaml

from openfn_airflow.imports.models import BadExport, ImportedProject
from openfn_airflow.imports.sources import Source

EXPORT_NAMES = ("project.yaml", "project.yml")


def read_export(path: Path) -> ImportedProject:
    """Read the export at `path` (a file, or a folder holding project.yaml) into an import.

    Raises BadExport when it is not YAML, not an OpenFn export, or misses something a job
    needs (its code).
    """
    from openfn_airflow.imports import lightning, lightning_v2, v1

    file = export_file(Path(path))
    data = _parse(file)
    source = Source(file)
    kind = export_format(data)
    assert isinstance(data, dict)  # export_format refused anything else
    if kind == "lightning":
        return lightning.read_lightning(data, source)
    if kind == "lightning-v2":
        converted, notes = lightning_v2.to_workflows_of_edges(data)
        return lightning.read_lightning(converted, source, "Lightning (v2 format)", notes)
    return v1.read_v1(data, source)


def export_file(path: Path) -> Path:
    """Return the export file at `path`, looking inside it when it is a folder."""
    if path.is_dir():
        for name in EXPORT_NAMES:
            if (path / name).is_file():
                return path / name
        found = sorted(p.name for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        if len(found) == 1:
            return path / found[0]
        listed = f" (it holds {', '.join(found)})" if found else ""
        raise BadExport(
            "", f"no project.yaml in {path}{listed}", "give the path of the exported YAML file"
        )
    if not path.is_file():
        raise BadExport("", f"{path} does not exist", "give the path of an OpenFn project.yaml")
    return path


def _parse(file: Path) -> object:
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadExport(
            "", f"{file.name} is not UTF-8 text", "give the exported YAML file"
        ) from None
    except OSError as error:
        raise BadExport("", f"cannot read {file}: {error.strerror or error}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise BadExport(
            "",
            f"{file.name} is not valid YAML: {problem}{where}",
            "give the project.yaml exported from OpenFn, unchanged",
        ) from None


def export_format(data: object) -> str:
    """Return "v1", "lightning" or "lightning-v2" for export `data`, or raise BadExport."""
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise BadExport("", f"the file is {what}", _NEITHER_HINT)
    if "project" in data and isinstance(data.get("jobs"), dict):
        raise BadExport(
            "",
            "this is already an openfn-airflow project.yaml (it has project:)",
            "check it with openfn-airflow validate PATH instead",
        )
    workflows = data.get("workflows")
    if isinstance(workflows, list):
        return "lightning-v2"
    if isinstance(workflows, dict):
        return "lightning"
    if isinstance(data.get("jobs"), dict):
        return "v1"
    raise BadExport("", "neither an OpenFn v1 nor a Lightning project export", _NEITHER_HINT)


_NEITHER_HINT = (
    "an OpenFn v1 export has jobs: (each with expression: and adaptor:) and triggers:; "
    "a Lightning export has workflows: (each with jobs:, triggers: and edges:, or steps:)"
)
