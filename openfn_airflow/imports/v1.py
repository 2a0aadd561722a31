"""OpenFn v1 exports: `jobs:` with `expression`, named `triggers:`, `credentials:` by name."""

from __future__ import annotations

import json

from openfn_airflow.imports.adaptors import read_adaptor
from openfn_airflow.imports.connections import Connections
from openfn_airflow.imports.models import BadExport, ImportedJob, ImportedProject, mapping_at
from openfn_airflow.imports.names import NameTable, project_name
from openfn_airflow.imports.sources import Source

_JOB_KEYS = ("name", "expression", "adaptor", "language_pack", "trigger", "credential")
_BOOL_KEYS = ("enabled", "autoprocess")  # same meaning here
_TRIGGER_KINDS = ("criteria", "cron", "success", "failure")
_EXCLUSION_KEYS = ("exclusion", "exclude")


def read_v1(data: dict, source: Source) -> ImportedProject:
    """Turn a v1 export (portability v2/v3) into an import."""
    name = data.get("name") or data.get("project") or source.default_name
    project = ImportedProject(name=project_name(str(name)), source_format="OpenFn v1")
    jobs_raw = mapping_at(data.get("jobs"), "jobs")
    triggers_raw = mapping_at(data.get("triggers"), "triggers")
    for key in data:
        if key not in ("name", "project", "jobs", "triggers", "credentials"):
            project.notes.append(f"the export's top-level {key}: is not carried over")

    job_names = NameTable("job")
    for key in jobs_raw:
        job_names.add(str(key))
    trigger_names = NameTable("trigger")
    for key, raw in triggers_raw.items():
        trigger = _trigger(str(key), raw, job_names, project)
        if trigger is not None:
            project.triggers[trigger_names.add(str(key))] = trigger

    connections = Connections()
    for key, raw in mapping_at(data.get("credentials"), "credentials").items():
        fields = tuple(str(field) for field in raw) if isinstance(raw, dict) else ()
        connections.declare(str(key), fields=fields)
        if isinstance(raw, dict) and any(not _masked(value) for value in raw.values()):
            project.notes.append(
                f"credential {key}: the export holds unmasked values; they are not copied "
                "anywhere: keep the export file safe, or delete it"
            )
    for key, raw in jobs_raw.items():
        project.jobs.append(
            _job(str(key), raw, source, job_names, trigger_names, connections, project)
        )
    project.connections = connections.all()
    project.renamed = job_names.renamed + trigger_names.renamed + connections.names.renamed
    return project


def _job(
    key: str,
    raw: object,
    source: Source,
    job_names: NameTable,
    trigger_names: NameTable,
    connections: Connections,
    project: ImportedProject,
) -> ImportedJob:
    where = f"jobs.{key}"
    mapping = mapping_at(raw, where)
    name = job_names.add(key)
    adaptor = read_adaptor(mapping.get("adaptor") or mapping.get("language_pack"), name)
    project.notes.extend(adaptor.notes)
    job = ImportedJob(
        name=name,
        origin=where,
        code=source.code(mapping.get("expression"), f"{where}.expression"),
        adaptor=adaptor.value,
    )
    trigger = mapping.get("trigger")
    if isinstance(trigger, dict):  # an inline trigger: named after its job
        inline = _trigger(key, trigger, job_names, project)
        if inline is not None:
            job.trigger = trigger_names.add(key, key=("inline", key))
            project.triggers[job.trigger] = inline
    elif trigger is not None:
        job.trigger = trigger_names.get(str(trigger))
        if job.trigger is None:
            project.notes.append(
                f"job {name}: its trigger {trigger} is not among the export's triggers (or could "
                "not be carried over): it has no trigger here and runs only by hand"
            )
    credential = mapping.get("credential")
    if credential:
        job.credential = connections.use(str(credential), name)
    for setting in _BOOL_KEYS:
        if setting in mapping:
            if isinstance(mapping[setting], bool):
                job.settings[setting] = mapping[setting]
            else:
                project.notes.append(
                    f"job {name}: {setting}: {mapping[setting]!r} is not true/false and is not carried over"
                )
    for other in mapping:
        if other not in (*_JOB_KEYS, *_BOOL_KEYS):
            project.notes.append(f"job {name}: its key {other}: is not carried over")
    return job


def _trigger(
    key: str, raw: object, job_names: NameTable, project: ImportedProject
) -> dict[str, object] | None:
    where = f"triggers.{key}"
    mapping = mapping_at(raw, where)
    kinds = [kind for kind in _TRIGGER_KINDS if kind in mapping]
    if len(kinds) != 1:
        project.notes.append(
            f"trigger {key}: expected one of {', '.join(_TRIGGER_KINDS)}, found "
            f"{' and '.join(kinds) or 'none'}; it is not carried over"
        )
        return None
    kind = kinds[0]
    for other in mapping:
        if other not in (kind, *_EXCLUSION_KEYS):
            project.notes.append(f"trigger {key}: its key {other}: is not carried over")
    if kind == "criteria":
        trigger: dict[str, object] = {"criteria": _filter(mapping["criteria"], f"{where}.criteria")}
        for exclusion in _EXCLUSION_KEYS:
            if mapping.get(exclusion) not in (None, "", {}):
                trigger["exclude"] = _filter(mapping[exclusion], f"{where}.{exclusion}")
        return trigger
    if kind == "cron":
        return {"cron": str(mapping["cron"]).strip()}
    upstream = job_names.get(str(mapping[kind]))
    if upstream is None:
        project.notes.append(
            f"trigger {key}: {kind}: {mapping[kind]} names no job of the export; it is not carried over"
        )
        return None
    return {kind: upstream}


def _filter(value: object, where: str) -> object:
    """v1 wrote message filters as JSON text; here they are YAML mappings."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise BadExport(
                where,
                f"the message filter is not valid JSON: {error.msg} (character {error.pos + 1})",
                'fix it in the export, e.g. \'{"formID": "patient_registration"}\'',
            ) from None
    if not isinstance(value, dict | list):
        raise BadExport(where, "a message filter is a JSON object or array", 'e.g. {"formID": "x"}')
    return value


def _masked(value: object) -> bool:
    """v1 exports credential values as '******'; anything else may be a real secret."""
    return value is None or (isinstance(value, str) and set(value) <= {"*"})
