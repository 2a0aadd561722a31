"""Keep the registry (projects, message-filter triggers, jobs) in step with the specs on disk.

A job's on/off is its DAG's pause. A spec whose ``enabled`` changes switches the DAG to it here
(the registry remembers the value last applied), so the file and the Jobs screen never disagree
silently, and a spec that did not change it leaves the screen's switch alone. An archived job is
not in the registry (nothing is delivered to it), and the DAG Airflow still has of it is marked
stale at once (``store.registry.retire_archived_dags``).

The api-server syncs at start and every 10 s (in the dispatcher), the CLI before it prints an
inbox URL or changes auth methods. A sync that finds every spec unchanged costs one small query
and a walk of the DAGs folder; changed specs are written under an advisory lock.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

from openfn_airflow.spec import Project, SpecError, find_projects, load_project_lenient
from openfn_airflow.store import registry
from openfn_airflow.store.errors import StoreError

log = logging.getLogger(__name__)

# (spec path, spec hash) -> project name, so an unchanged spec is not parsed again.
_names: dict[tuple[Path, str], str] = {}


def sync_projects(
    conn: psycopg.Connection[Any],
    folder: str | Path | Sequence[str | Path],
    *,
    prune: bool = True,
) -> list[str]:
    """Sync every project spec under ``folder`` (or folders) into the registry; return the names.

    A project's inbox id is the spec's ``inbox.id``, else the stored one, else generated once;
    a project defined in two folders is taken from the first. ``prune``: empty the registry of
    projects whose spec is gone (not for a CLI that may be looking at another folder, nor when a
    folder could not be read). Commits on an autocommit connection; otherwise the caller does.
    """
    folders = [folder] if isinstance(folder, str | Path) else list(folder)
    found = [(path, spec_hash(path)) for root in folders for path in find_projects(root)]
    known = [_names.get(entry) for entry in found]
    stored = registry.spec_hashes(conn)
    if all(known):
        names = _first_of_each(known)
        unchanged = all(
            name is not None and stored.get(name) == h
            for name, (_, h) in zip(known, found, strict=True)
        )
        stale = [n for n, h in stored.items() if h is not None and n not in names]
        if unchanged and not (prune and stale):
            return sorted(names)
    with conn.transaction():
        registry.lock(conn)
        stored = registry.spec_hashes(conn)
        synced = _sync_specs(conn, found, stored)
        if prune:
            forgotten = registry.forget_projects_except(conn, sorted(synced))
            if forgotten:
                log.info("OpenFn projects without a spec now match no message: %s", forgotten)
    return sorted(synced)


def spec_hash(path: Path) -> str:
    """Fingerprint a spec: its text and the names of the files beside it (job files appear)."""
    digest = hashlib.sha256(path.read_bytes())
    root = path.parent
    for current, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            d for d in subfolders if not d.startswith(".") and d != "__pycache__"
        )
        for name in sorted(files):
            digest.update(b"\0" + os.path.relpath(os.path.join(current, name), root).encode())
    return digest.hexdigest()


def _first_of_each(names: list[str | None]) -> list[str]:
    return list(dict.fromkeys(name for name in names if name))


def _sync_specs(
    conn: psycopg.Connection[Any], found: list[tuple[Path, str]], stored: dict[str, str | None]
) -> set[str]:
    _names.clear()
    synced: set[str] = set()
    for path, fingerprint in found:
        try:
            project = load_project_lenient(path)
        except SpecError:
            log.warning("OpenFn project spec %s cannot be read; its inbox matches nothing", path)
            continue
        _names[(path, fingerprint)] = project.name
        if project.name in synced:
            log.warning("OpenFn project %s of %s is defined twice; ignored", project.name, path)
            continue
        synced.add(project.name)
        if stored.get(project.name) == fingerprint:
            continue
        try:
            with conn.transaction():
                _write(conn, project, fingerprint)
        except StoreError as exc:
            synced.discard(project.name)
            log.warning("OpenFn project %s (%s) not synced: %s", project.name, path, exc)
    return synced


def _write(conn: psycopg.Connection[Any], project: Project, fingerprint: str) -> None:
    from openfn_airflow.dags.factory import dag_id_for

    inbox_id = uuid.UUID(project.inbox_id) if project.inbox_id else None
    registry.sync_project(conn, project.name, inbox_id=inbox_id, spec_hash=fingerprint)
    registry.replace_triggers(
        conn,
        project.name,
        [
            {"name": t.name, "criteria": t.criteria, "exclude": t.exclude}
            for t in project.triggers.values()
            if t.kind == "message"
        ],
    )
    jobs = [
        {
            "name": job.name,
            "trigger": job.trigger,
            "autoprocess": job.autoprocess,
            "runs": job.runs,
            "dag_id": dag_id_for(project.name, job.name),
            "enabled": job.enabled,
        }
        for job in project.jobs.values()
    ]
    # The spec's `enabled` switches a job only when it changes: an edit elsewhere in the spec
    # must not undo a switch made on the Jobs screen since.
    applied = {row["name"]: row["enabled"] for row in registry.list_jobs(conn, project.name)}
    registry.replace_jobs(conn, project.name, jobs)
    switched = registry.apply_spec_enabled(
        conn,
        project.name,
        [
            {**job, "added": job["name"] not in applied}
            for job in jobs
            if applied.get(job["name"]) is not job["enabled"]
        ],
    )
    for row in switched:
        log.info(
            "OpenFn job %s/%s switched %s: its spec now says enabled: %s",
            project.name,
            row["name"],
            "on" if row["enabled"] else "off",
            "true" if row["enabled"] else "false",
        )
    retired = registry.retire_archived_dags(
        conn, [dag_id_for(project.name, name) for name in project.archived]
    )
    if retired:
        log.info("OpenFn jobs of %s archived: their DAGs %s are stale now", project.name, retired)
