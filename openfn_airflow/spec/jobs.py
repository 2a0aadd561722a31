"""Reading one job entry: its file, its trigger reference and its settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from openfn_airflow.spec.adaptors import read_adaptors
from openfn_airflow.spec.fields import (
    check_keys,
    describe,
    expect_mapping,
    read_bool,
    read_choice,
    read_duration,
    read_positive_int,
    read_text,
    read_text_list,
)
from openfn_airflow.spec.models import Job, Runs
from openfn_airflow.spec.problems import Problems, SpecPath, did_you_mean

JOB_KEYS = (
    "file",
    "trigger",
    "credential",
    "autoprocess",
    "runs",
    "timeout",
    "concurrency",
    "console",
    "test_mode",
    "enabled",
    "archived",
    "owner",
    "description",
    "tags",
    "adaptor",
    "adaptors",
)
JOB_FILE_SUFFIXES = (".py", ".js")
RUNS = ("auto", "per-message", "batched")  # the first is the default
TAG_MAX_LENGTH = 100  # Airflow's limit for a DAG tag

#: Keys of an OpenFn v1 job that have a new home here.
_V1_HINTS = {
    "expression": "job code lives in a file here: put the code in a .js file and set file: to "
    "its path (relative to project.yaml); keep adaptor:",
}


@dataclass(frozen=True)
class JobDraft:
    """A job entry as written, before it is checked against the rest of the project."""

    name: str
    job: Job | None  # None when the entry itself has a problem
    trigger: str | None  # the trigger it refers to; an inline trigger is named after the job
    inline_trigger: dict | None  # the inline trigger mapping, read by the project
    archived: bool
    runs: str


def read_job(name: str, raw: object, root: Path, path: SpecPath, problems: Problems) -> JobDraft:
    """Read the job entry at `path`; file paths are relative to the project folder `root`."""
    before = len(problems)
    mapping = expect_mapping(
        raw,
        path,
        problems,
        "a mapping of job settings",
        "e.g. {file: jobs/x.py, trigger: my-trigger}",
    )
    if mapping is None:
        return JobDraft(name, None, None, None, archived=False, runs=RUNS[0])
    check_keys(mapping, JOB_KEYS, path, problems, _V1_HINTS)
    archived = read_bool(mapping, "archived", path, problems, False)
    trigger, inline = _read_trigger_ref(name, mapping, path, problems)
    runs = read_choice(mapping, "runs", RUNS, path, problems)
    file = _read_file(mapping, root, path, problems, must_exist=not archived)
    job = Job(
        name=name,
        file=file,
        trigger=trigger,
        credential=read_text(
            mapping, "credential", path, problems, "name an Airflow connection id"
        ),
        autoprocess=read_bool(mapping, "autoprocess", path, problems, True),
        runs=cast(Runs, runs),
        timeout=read_duration(mapping, "timeout", path, problems),
        concurrency=read_positive_int(
            mapping, "concurrency", path, problems, "e.g. concurrency: 1 (one run at a time)"
        ),
        console=read_bool(mapping, "console", path, problems, True),
        test_mode=read_bool(mapping, "test_mode", path, problems, False),
        enabled=read_bool(mapping, "enabled", path, problems, True),
        archived=archived,
        owner=read_text(mapping, "owner", path, problems, "e.g. owner: data-team"),
        description=read_text(
            mapping, "description", path, problems, "a sentence saying what the job does"
        ),
        tags=read_text_list(mapping, "tags", path, problems, TAG_MAX_LENGTH),
        adaptors=_read_adaptors(mapping, file, path, problems, archived),
    )
    ok = len(problems) == before
    return JobDraft(name, job if ok else None, trigger, inline, archived, runs)


def _read_adaptors(
    mapping: dict, file: Path, path: SpecPath, problems: Problems, archived: bool
) -> tuple[str, ...]:
    """Read the adaptors of a JavaScript job; an archived job's versions are not looked up."""
    value = mapping.get("file")
    suffix = Path(value).suffix if isinstance(value, str) else file.suffix
    if suffix not in JOB_FILE_SUFFIXES:
        return ()  # the file's own problem says it all
    language = "javascript" if suffix == ".js" else "python"
    return read_adaptors(mapping, path, problems, language=language, check_versions=not archived)


def _read_trigger_ref(
    name: str, mapping: dict, path: SpecPath, problems: Problems
) -> tuple[str | None, dict | None]:
    value = mapping.get("trigger")
    if value is None:
        return None, None
    if isinstance(value, dict):
        return name, value
    if isinstance(value, str) and value:
        return value, None
    problems.add(
        (*path, "trigger"),
        f"expected a trigger name or an inline trigger, got {describe(value)}",
        'e.g. trigger: patient-form, or trigger: {cron: "0 * * * *"}',
    )
    return None, None


def _read_file(
    mapping: dict, root: Path, path: SpecPath, problems: Problems, must_exist: bool
) -> Path:
    """Return the job file's absolute path; the fallback for a problem is never used."""
    where = (*path, "file")
    fallback = root / "<missing>"
    example = f"jobs/{path[-1]}.py" if path else "jobs/x.py"
    if "file" not in mapping:
        problems.add(
            where,
            'required key "file" is missing',
            f"add file: {example}, the job's Python or JavaScript file relative to project.yaml",
        )
        return fallback
    value = mapping["file"]
    if not isinstance(value, str) or not value.strip():
        problems.add(where, f"expected a file path, got {describe(value)}", f"e.g. file: {example}")
        return fallback
    try:
        resolved = (root / value).resolve()  # an absolute `value` replaces root
    except (OSError, ValueError, RuntimeError) as error:  # RuntimeError: a symlink loop
        problems.add(where, f"{value} is not a usable path ({error})", f"e.g. file: {example}")
        return fallback
    if not resolved.is_relative_to(root):
        problems.add(
            where,
            f"{value} is outside the project folder",
            f"job files live under {root}; give a path relative to project.yaml, without ../",
        )
        return fallback
    if resolved.suffix not in JOB_FILE_SUFFIXES:
        problems.add(
            where,
            f"{value} is not a Python file (.py) nor a JavaScript file (.js)",
            f"e.g. file: {example}",
        )
        return fallback
    try:
        is_file, exists = resolved.is_file(), resolved.exists()
    except OSError as error:  # a name too long for the file system, say
        problems.add(where, f"{value} is not a usable path ({error})", f"e.g. file: {example}")
        return fallback
    if must_exist and not is_file:
        if exists:
            problems.add(where, f"{value} is not a file", f"e.g. file: {example}")
        else:
            hint = (
                did_you_mean(value, _job_files(root))
                or f"create it, or fix the path (it is relative to {root})"
            )
            problems.add(where, f"{value} does not exist", hint)
        return fallback
    return resolved


def _job_files(root: Path, limit: int = 2000) -> list[str]:
    """List the project's .py and .js files relative to `root`, for "did you mean" hints."""
    found: list[str] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d != "__pycache__"]
        found.extend(
            (Path(folder) / name).relative_to(root).as_posix()
            for name in files
            if name.endswith(JOB_FILE_SUFFIXES)
        )
        if len(found) >= limit:
            break
    return found
