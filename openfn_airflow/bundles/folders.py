"""Where project specs live: the DAGs folder, and each git DAG bundle at the commit Airflow parsed.

The inbox (its registry of projects, triggers and jobs), the Jobs screen and the CLI read specs
from these folders. A git bundle's folder is a checkout of ``dag_bundle.version``, the commit
the dag-processor last refreshed the bundle to and parsed its DAGs at: messages are matched
against the triggers of the spec the DAGs were made from, and a webhook deployment moves both.

The checkout is the git provider's own versioned worktree (``<storage>/<bundle>/versions/<sha>``,
what task processes use), made once per commit with the bundle's connection; the api-server
needs the same ``[dag_processor] dag_bundle_config_list``, storage path and connection as the
dag-processor.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openfn_airflow import canary

log = logging.getLogger(__name__)

# How long a listing is reused: the Jobs screen asks on every request, the registry every 10 s.
REUSE_SECONDS = 5.0


@dataclass(frozen=True)
class SpecFolders:
    """The folders holding project specs; ``complete`` is False when a bundle's was not to be
    had (its projects must not be taken for deleted)."""

    folders: tuple[Path, ...]
    complete: bool = True


_lock = threading.Lock()
_checkouts: dict[tuple[str, str], Path] = {}
_listed: dict[str, tuple[float, SpecFolders]] = {}


def spec_folders(dags_folder: str | Path) -> SpecFolders:
    """The DAGs folder, then each git bundle's checkout at its parsed commit (none yet: left out),
    then the canary project's folder when ``[openfn] canary`` is on."""
    key = str(dags_folder)
    with _lock:
        cached = _listed.get(key)
        if cached and time.monotonic() - cached[0] < REUSE_SECONDS:
            return cached[1]
        listing = _list(Path(dags_folder))
        _listed[key] = (time.monotonic(), listing)
        return listing


def _list(dags_folder: Path) -> SpecFolders:
    folders = [dags_folder]
    complete = True
    try:
        versions = _git_bundle_versions()
    except Exception:
        log.warning(
            "The DAG bundles could not be listed; reading the DAGs folder only", exc_info=True
        )
        return SpecFolders((*folders, *canary.folders_for(dags_folder)), complete=False)
    for name, version in versions.items():
        if version is None:  # not parsed yet: its DAGs do not exist either
            continue
        try:
            folder = _checkout(name, version)
        except Exception as exc:
            log.warning("Git bundle %s at %s is not readable here: %s", name, version, exc)
            complete = False
            continue
        if folder.resolve() not in {f.resolve() for f in folders}:
            folders.append(folder)
    folders.extend(canary.folders_for(dags_folder))
    return SpecFolders(tuple(folders), complete)


def _git_bundles() -> dict[str, tuple[type, dict[str, Any]]]:
    """The git bundles of ``[dag_processor] dag_bundle_config_list``: name -> (class, kwargs).

    Read as ``DagBundlesManager`` reads it, without building every bundle (a git bundle's
    constructor looks its connection up) or logging the list each time.
    """
    from airflow.configuration import conf
    from airflow.providers.git.bundles.git import GitDagBundle

    found: dict[str, tuple[type, dict[str, Any]]] = {}
    configured = conf.getjson("dag_processor", "dag_bundle_config_list", fallback=None)
    for entry in configured if isinstance(configured, list) else []:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("classpath"):
            continue
        module, _, attribute = str(entry["classpath"]).rpartition(".")
        bundle_class = getattr(importlib.import_module(module), attribute)
        if isinstance(bundle_class, type) and issubclass(bundle_class, GitDagBundle):
            found[entry["name"]] = (bundle_class, dict(entry.get("kwargs") or {}))
    return found


def _git_bundle_versions() -> dict[str, str | None]:
    """Each configured git bundle's name and the version its DAGs were last parsed at."""
    from openfn_airflow.airflow_db.bundles import bundle_versions

    names = list(_git_bundles())
    if not names:
        return {}
    stored = bundle_versions(names)
    return {name: stored.get(name) for name in names}


def _checkout(name: str, version: str) -> Path:
    """The bundle's worktree at ``version`` (made, and the commit fetched, the first time)."""
    folder = _checkouts.get((name, version))
    if folder is not None and folder.is_dir():
        return folder
    bundle_class, kwargs = _git_bundles()[name]
    bundle = bundle_class(name=name, version=version, **kwargs)
    started = time.monotonic()
    bundle.initialize()
    folder = Path(bundle.path)
    log.info(
        "Project specs of git bundle %s read at %s (checked out in %.1f s)",
        name,
        version,
        time.monotonic() - started,
    )
    _checkouts[(name, version)] = folder
    return folder
