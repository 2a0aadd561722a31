"""Lightning exports: `workflows:` of `jobs:`, `triggers:` and `edges:` between them."""

from __future__ import annotations

from collections import Counter

from openfn_airflow.imports.adaptors import read_adaptor
from openfn_airflow.imports.connections import Connections
from openfn_airflow.imports.edges import Route, route_of
from openfn_airflow.imports.models import ImportedJob, ImportedProject, mapping_at
from openfn_airflow.imports.names import NameTable, project_name
from openfn_airflow.imports.sources import Source

_TOP_KEYS = ("name", "description", "credentials", "workflows", "globals")
_WORKFLOW_KEYS = ("name", "jobs", "triggers", "edges", "concurrency", "enable_job_logs")
_JOB_KEYS = ("name", "adaptor", "credential", "body", "enabled", "globals")
_EDGE_KEYS = (
    "source_trigger",
    "source_job",
    "target_job",
    "condition_type",
    "condition_label",
    "condition_expression",
    "enabled",
)


def read_lightning(
    data: dict, source: Source, source_format: str = "Lightning", notes: list[str] | None = None
) -> ImportedProject:
    """Turn a Lightning export into an import; every edge a trigger here cannot hold is noted."""
    project = ImportedProject(
        name=project_name(str(data.get("name") or source.default_name)),
        source_format=source_format,
        notes=list(notes or ()),
    )
    _note_unknown(data, _TOP_KEYS, "the export's top-level", project, only_if_set=True)
    connections = Connections()
    for key, raw in mapping_at(data.get("credentials"), "credentials").items():
        label = raw.get("name") if isinstance(raw, dict) else None
        connections.declare(str(key), str(label) if label else _credential_label(str(key)))
    workflows = {str(k): mapping_at(v, f"workflows.{k}") for k, v in data["workflows"].items()}
    job_names = _name_jobs(workflows)
    trigger_names = NameTable("trigger")
    for key, workflow in workflows.items():
        _read_workflow(key, workflow, source, job_names, trigger_names, connections, project)
    webhooks = [name for name, spec in project.triggers.items() if spec.get("criteria") == {}]
    if len(webhooks) > 1:
        project.notes.append(
            f"{len(webhooks)} workflows were started by their own webhook; here they share the "
            f"project's one inbox, so every message starts all of them ({', '.join(webhooks)}): "
            "give each of these triggers criteria that tell their messages apart"
        )
    project.connections = connections.all()
    project.renamed = job_names.renamed + trigger_names.renamed + connections.names.renamed
    return project


def _name_jobs(workflows: dict[str, dict]) -> NameTable:
    """Name every job; a job key used in two workflows is prefixed with its workflow's."""
    keys = {
        wf: [str(k) for k in mapping_at(w.get("jobs"), f"workflows.{wf}.jobs")]
        for wf, w in workflows.items()
    }
    used = Counter(key for job_keys in keys.values() for key in job_keys)
    names = NameTable("job")
    for workflow, job_keys in keys.items():
        for key in job_keys:
            wanted = key if used[key] == 1 else f"{workflow}-{key}"
            names.add(wanted, key=(workflow, key), original=key)
    return names


def _read_workflow(
    key: str,
    workflow: dict,
    source: Source,
    job_names: NameTable,
    trigger_names: NameTable,
    connections: Connections,
    project: ImportedProject,
) -> None:
    where = f"workflows.{key}"
    _note_unknown(workflow, _WORKFLOW_KEYS, f"workflow {key}:", project)
    jobs = mapping_at(workflow.get("jobs"), f"{where}.jobs")
    triggers = mapping_at(workflow.get("triggers"), f"{where}.triggers")
    edges = mapping_at(workflow.get("edges"), f"{where}.edges")
    incoming: dict[str, list[Route]] = {str(job): [] for job in jobs}
    for edge_key, raw in edges.items():
        edge = mapping_at(raw, f"{where}.edges.{edge_key}")
        _note_unknown(edge, _EDGE_KEYS, f"edge {edge_key} of workflow {key}:", project)
        target = str(edge.get("target_job"))
        if target not in incoming:
            project.notes.append(
                f"edge {edge_key} of workflow {key} leads to {target}, which is not one of its "
                "jobs: it is not carried over"
            )
            continue
        route = route_of(key, str(edge_key), edge, triggers, job_names, target, project.name)
        incoming[target].append(route)
    settings = _workflow_settings(key, workflow, project)
    for job_key, raw in jobs.items():
        job = _job(key, str(job_key), raw, source, job_names, connections, project)
        job.settings.update(settings)
        _connect(job, incoming[str(job_key)], trigger_names, project)
        project.jobs.append(job)


def _job(
    workflow: str,
    key: str,
    raw: object,
    source: Source,
    job_names: NameTable,
    connections: Connections,
    project: ImportedProject,
) -> ImportedJob:
    where = f"workflows.{workflow}.jobs.{key}"
    mapping = mapping_at(raw, where)
    name = job_names.get((workflow, key)) or key
    adaptor = read_adaptor(mapping.get("adaptor"), name)
    project.notes.extend(adaptor.notes)
    job = ImportedJob(name, where, source.code(mapping.get("body"), f"{where}.body"), adaptor.value)
    credential = mapping.get("credential")
    if credential:
        job.credential = connections.use(str(credential), name, _credential_label(str(credential)))
    if isinstance(mapping.get("enabled"), bool):
        job.settings["enabled"] = mapping["enabled"]
    if mapping.get("globals"):
        project.notes.append(f"job {name}: its globals are not carried over")
    _note_unknown(mapping, _JOB_KEYS, f"job {name}:", project)
    return job


def _connect(
    job: ImportedJob, routes: list[Route], trigger_names: NameTable, project: ImportedProject
) -> None:
    """Give `job` the trigger of its first usable edge (an enabled trigger's first), note the rest."""
    if not routes:
        project.notes.append(
            f"job {job.name}: no edge leads to it in the export: it has no trigger here and runs "
            "only by hand"
        )
        return
    usable = sorted((r for r in routes if r.spec is not None), key=lambda r: r.paused)
    for route in routes:
        if route.spec is None:
            project.notes.append(
                f"job {job.name}: edge {route.edge} is not carried over: {route.reason}"
            )
    if not usable:
        project.notes.append(f"job {job.name}: it has no trigger here and runs only by hand")
        return
    chosen = usable[0]
    assert chosen.spec is not None
    job.trigger = trigger_names.add(chosen.trigger_name, key=chosen.trigger_key)
    project.triggers[job.trigger] = chosen.spec
    if chosen.caveat:
        project.notes.append(f"job {job.name}: {chosen.caveat}")
    if chosen.paused:
        job.settings["enabled"] = False
        project.notes.append(
            f"job {job.name}: its trigger is disabled in the export, so the job is written with "
            "enabled: false (its DAG is paused)"
        )
    for other in usable[1:]:
        project.notes.append(
            f"job {job.name}: edge {other.edge} is not carried over: a job here has one trigger "
            f"and it keeps {chosen.edge}; to run it on the other edge too, add a job with the "
            "same file: and that trigger"
        )


def _workflow_settings(key: str, workflow: dict, project: ImportedProject) -> dict[str, object]:
    settings: dict[str, object] = {}
    concurrency = workflow.get("concurrency")
    if isinstance(concurrency, int) and not isinstance(concurrency, bool) and concurrency >= 1:
        settings["concurrency"] = concurrency
        project.notes.append(
            f"workflow {key}: its concurrency {concurrency} is written on each of its jobs "
            "(a limit per job here, not per workflow)"
        )
    if workflow.get("enable_job_logs") is False:
        settings["console"] = False
    return settings


def _credential_label(key: str) -> str:
    """Lightning keys credentials `owner|name` (or `owner-name`): the name is the useful part."""
    return key.rsplit("|", 1)[-1]


def _note_unknown(
    mapping: dict,
    known: tuple[str, ...],
    what: str,
    project: ImportedProject,
    only_if_set: bool = True,
) -> None:
    for key in mapping:
        if key not in known and (not only_if_set or mapping[key] not in (None, {}, [], "")):
            project.notes.append(f"{what} {key}: is not carried over")
