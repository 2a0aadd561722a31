"""The projects a page can show, and the one it is about."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openfn_airflow.plugin.permissions import Permissions
from openfn_airflow.store import projects, registry


@dataclass(frozen=True)
class ProjectChoice:
    names: list[str]
    current: str | None  # the project filtered on; the only one when there is just one
    triggers: list[str] = field(default_factory=list)  # message-filter triggers of ``current``
    jobs: list[str] = field(default_factory=list)


def project_choice(conn: Any, requested: str | None, perms: Permissions) -> ProjectChoice:
    """The projects the user may see, and the one asked for (or the only one)."""
    names = [row["name"] for row in projects.list_projects(conn) if perms.sees_project(row["name"])]
    current = requested if requested in names else (names[0] if len(names) == 1 else None)
    if current is None:
        return ProjectChoice(names=names, current=None)
    return ProjectChoice(
        names=names,
        current=current,
        triggers=[row["name"] for row in registry.list_triggers(conn, current)],
        jobs=[
            row["name"]
            for row in registry.list_jobs(conn, current)
            if perms.sees_run(current, row["name"])
        ],
    )
