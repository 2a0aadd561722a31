"""Turning a parsed spec into a Project: every entry read, every reference checked."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from openfn_airflow.spec.chains import keep_chained
from openfn_airflow.spec.fields import (
    check_keys,
    check_name,
    describe,
    expect_mapping,
    read_positive_int,
)
from openfn_airflow.spec.jobs import read_job
from openfn_airflow.spec.models import ArchivedJob, Project, job_dag_id
from openfn_airflow.spec.problems import Problems, SpecError, document_order
from openfn_airflow.spec.references import Entries, check_references
from openfn_airflow.spec.retention import read_retention
from openfn_airflow.spec.triggers import read_trigger

TOP_KEYS = ("project", "inbox", "retention", "concurrency", "triggers", "jobs")
PROJECT_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
DAG_ID_MAX_LENGTH = 250  # Airflow's limit

_NAME_HINT = (
    "use letters, digits, '-' and '_', starting with a letter or digit; "
    "it becomes part of DAG ids: openfn__<project>__<job>"
)
#: Keys of an OpenFn v1 export that have a new home here.
_V1_HINTS = {
    "credentials": "credentials are Airflow connections here: create one and name its id in a job's credential:",
    "name": 'the project name goes under "project:"',
}


def parse_project(data: dict, spec_path: Path) -> Project:
    """Build a Project from spec data, leniently: problems are collected, broken jobs dropped.

    Raises SpecError (listing every problem) only when the project name is missing or invalid,
    or `data` is not a mapping at all.
    """
    return build_project(data, Path(spec_path), Problems())


def build_project(data: object, spec_path: Path, problems: Problems) -> Project:
    """Build a Project from spec data, adding to `problems` found while reading the file."""
    spec_path = spec_path.resolve()
    root = spec_path.parent
    order = document_order(data)
    if not isinstance(data, dict):
        message = (
            "the file is empty" if data is None else f"expected a mapping, got {describe(data)}"
        )
        problems.add((), message, "start the file with project: <name>, then triggers: and jobs:")
        raise SpecError(problems.in_order(order), spec_path)

    check_keys(data, TOP_KEYS, (), problems, _V1_HINTS)
    name = _read_name(data, problems)
    inbox_id = _read_inbox(data, problems)
    retention = read_retention(data, problems)
    concurrency = read_positive_int(
        data,
        "concurrency",
        (),
        problems,
        "e.g. concurrency: 4 (at most 4 runs of this project's jobs at once, all jobs together)",
    )
    entries = Entries()
    notes = Problems()
    _read_triggers(_read_section(data, "triggers", problems), entries, problems)
    _read_jobs(_read_section(data, "jobs", problems), root, name, entries, problems)
    in_cycles = check_references(entries, problems, notes)
    if name is None:
        raise SpecError(problems.in_order(order), spec_path)

    def sound(trigger_name: str) -> bool:
        return not problems.under(entries.trigger_paths[trigger_name])

    candidates = []
    for draft in entries.drafts.values():
        trigger = entries.trigger_of(draft)
        if (
            draft.job is not None
            and not draft.archived
            and draft.name not in in_cycles
            and not problems.under(("jobs", draft.name))
            and (draft.trigger is None or (trigger is not None and sound(trigger.name)))
        ):
            candidates.append(draft.name)
    archived_names = {draft.name for draft in entries.drafts.values() if draft.archived}
    # A job on an archived one stands alone: its trigger never fires, it still runs by hand.
    upstream_of = {
        draft.name: upstream
        for draft in entries.drafts.values()
        if (upstream := entries.upstream_of(draft)) and upstream not in archived_names
    }
    kept = keep_chained(candidates, upstream_of)
    archived_inline = {
        draft.name
        for draft in entries.drafts.values()
        if draft.archived and draft.inline_trigger is not None
    }
    archived: dict[str, ArchivedJob] = {}
    for draft in entries.drafts.values():
        if draft.archived and draft.job is not None:
            trigger = entries.trigger_of(draft)
            sound_trigger = trigger if trigger is not None and sound(trigger.name) else None
            archived[draft.name] = ArchivedJob(draft.job, sound_trigger)
    return Project(
        name=name,
        spec_path=spec_path,
        root=root,
        inbox_id=inbox_id,
        triggers={
            key: trigger
            for key, trigger in entries.triggers.items()
            if sound(key) and key not in archived_inline
        },
        jobs={key: draft.job for key, draft in entries.drafts.items() if key in kept and draft.job},
        problems=problems.in_order(order),
        notes=notes.in_order(order),
        archived=archived,
        retention=retention,
        concurrency=concurrency,
    )


def _read_triggers(raw_triggers: dict, entries: Entries, problems: Problems) -> None:
    entries.named_triggers = {str(key) for key in raw_triggers}
    for key, raw in raw_triggers.items():
        path = ("triggers", str(key))
        if check_name(key, path, problems, "trigger"):
            entries.trigger_paths[key] = path
            if trigger := read_trigger(key, raw, path, problems):
                entries.triggers[key] = trigger


def _read_jobs(
    raw_jobs: dict, root: Path, project: str | None, entries: Entries, problems: Problems
) -> None:
    entries.job_names = {str(key) for key in raw_jobs}
    for key, raw in raw_jobs.items():
        path = ("jobs", str(key))
        if not check_name(key, path, problems, "job"):
            continue
        entries.drafts[key] = draft = read_job(key, raw, root, path, problems)
        if project and len(dag_id := job_dag_id(project, key)) > DAG_ID_MAX_LENGTH:
            problems.add(
                path,
                f"the DAG id {dag_id} is longer than Airflow's {DAG_ID_MAX_LENGTH} characters",
                "shorten the job name",
            )
        if draft.inline_trigger is None:
            continue
        inline_path = (*path, "trigger")
        if key in entries.named_triggers:
            problems.add(
                inline_path,
                f'an inline trigger is named after its job, and a trigger "{key}" is already defined under triggers',
                f"refer to that trigger by name (trigger: {key}) or rename one of them",
            )
            continue
        entries.trigger_paths[key] = inline_path
        if trigger := read_trigger(key, draft.inline_trigger, inline_path, problems):
            entries.triggers[key] = trigger


MAX_PROJECT_NAME = 100 - len("project:")


def _read_name(data: dict, problems: Problems) -> str | None:
    if "project" not in data:
        problems.add(
            ("project",),
            'required key "project" is missing',
            f"add project: <name> at the top; {_NAME_HINT}",
        )
        return None
    value = data["project"]
    if not isinstance(value, str):
        problems.add(
            ("project",), f"expected the project's name, got {describe(value)}", _NAME_HINT
        )
        return None
    if not PROJECT_NAME_PATTERN.fullmatch(value):
        problems.add(("project",), f'"{value}" is not a valid project name', _NAME_HINT)
        return None
    if len(value) > MAX_PROJECT_NAME:
        # Every DAG is tagged "project:<name>" and Airflow refuses tags over 100 characters.
        problems.add(
            ("project",),
            f"the project name is {len(value)} characters long, at most {MAX_PROJECT_NAME} fit",
            "choose a shorter name",
        )
        return None
    return value


def _read_inbox(data: dict, problems: Problems) -> str | None:
    """Return the inbox id in canonical UUID form, or None when none is fixed."""
    mapping = data.get("inbox")
    if (
        mapping is None
        or expect_mapping(mapping, ("inbox",), problems, "a mapping", "e.g. inbox: {id: <uuid>}")
        is None
    ):
        return None
    check_keys(mapping, ("id",), ("inbox",), problems)
    value = mapping.get("id")
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return str(uuid.UUID(value))
    except ValueError:
        problems.add(
            ("inbox", "id"),
            f"{describe(value)} is not a UUID",
            f"e.g. id: {uuid.uuid4()}, or remove it and an id is generated",
        )
        return None


def _read_section(data: dict, key: str, problems: Problems) -> dict:
    value = data.get(key)
    if value is None:
        return {}
    example = (
        "patient-form: {criteria: {formID: x}}"
        if key == "triggers"
        else "my-job: {file: jobs/my_job.py}"
    )
    mapping = expect_mapping(
        value, (key,), problems, f"a mapping of {key} by name", f"e.g. {key}: {{{example}}}"
    )
    return mapping or {}
