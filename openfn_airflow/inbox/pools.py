"""The Airflow pool of each project that sets ``concurrency:``, created and sized from its spec.

The job DAGs name the pool (``openfn__<project>``); Airflow does not run a task whose pool does
not exist, so the api-server's dispatcher keeps the pools in step with the specs as it syncs the
registry. A pool whose project no longer sets a concurrency is left in place (running tasks may
still hold its slots): delete it in Admin -> Pools.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openfn_airflow.airflow_db.pools import apply_pools
from openfn_airflow.spec import find_projects, load_project_lenient
from openfn_airflow.spec.models import project_pool


def wanted_pools(folders: Sequence[str | Path]) -> dict[str, int]:
    """The pools the specs under ``folders`` ask for: name -> slots."""
    pools: dict[str, int] = {}
    for root in folders:
        for path in find_projects(root):
            try:
                project = load_project_lenient(path)
            except Exception:  # a spec without a usable name: the spec check reports it
                continue
            if project.concurrency and project_pool(project.name) not in pools:
                pools[project_pool(project.name)] = project.concurrency
    return pools


class PoolSync:
    """Create or resize the projects' pools when a spec changes (the specs are read only then)."""

    def __init__(self) -> None:
        self._seen: tuple[tuple[str, str], ...] | None = None

    def sync(self, folders: Sequence[str | Path]) -> bool:
        """Apply the specs' pools if a spec changed since the last call; True when applied."""
        from openfn_airflow.inbox.registry import spec_hash

        seen = tuple(
            (str(path), spec_hash(path)) for root in folders for path in find_projects(root)
        )
        if seen == self._seen:
            return False
        apply_pools(wanted_pools(folders))
        self._seen = seen  # only once applied: a failure is tried again at the next sync
        return True
