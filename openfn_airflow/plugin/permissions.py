"""Who sees and changes which project: the auth manager asked about the DAGs a route touches.

Every route resolves the project and jobs of what it touches (a message, a run, a project name,
an auth method) and asks Airflow's configured auth manager about THOSE DAGs; nothing here reads
the request, so a client-supplied ``?dag_id=`` decides nothing. The rules:

- a project is visible to a user who may read at least one of its job DAGs, a run to a user who
  may read its job's DAG; lists, searches, counts, exports, usage and the screens show only what
  is visible, and what is not visible answers 404 (existence is not revealed);
- editing a message, processing or reprocessing messages and retrying runs need run access to
  every DAG that the action would start;
- managing a project's inbox auth methods, and seeing its inbox URL, need edit access to every
  one of its DAGs.

Which DAGs a user may read comes from the auth manager's ``get_authorized_dag_ids``, as Airflow's
own DAG lists do (multi-team included); the checks of one DAG pass its ``team_name`` as
Airflow's own routes do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from fastapi import Depends, HTTPException, status

from openfn_airflow.plugin.deps import ConnDep, UserDep
from openfn_airflow.store import registry
from openfn_airflow.store.filters import MessageFilter, RunFilter


def job_key(project: str, job: str) -> str:
    """How the searches name a job ("project/job": neither name may hold a slash)."""
    return f"{project}/{job}"


@dataclass(frozen=True)
class Permissions:
    """What one user may see, computed once per request from the auth manager."""

    user: BaseUser
    # Every job of every project: its DAG id by job key, and its project.
    dags: dict[str, str]
    projects_of_jobs: dict[str, str]
    readable: frozenset[str]  # job keys whose DAG the user may read
    everything: bool  # every job DAG is readable: no filter at all

    @property
    def visible_projects(self) -> tuple[str, ...] | None:
        """The projects the user may see; None: all (also those without jobs)."""
        if self.everything:
            return None
        return tuple(sorted({self.projects_of_jobs[key] for key in self.readable}))

    @property
    def visible_jobs(self) -> tuple[str, ...] | None:
        """The job keys whose runs the user may see; None: all."""
        return None if self.everything else tuple(sorted(self.readable))

    def sees_project(self, project: str) -> bool:
        projects = self.visible_projects
        return projects is None or project in projects

    def sees_run(self, project: str, job: str) -> bool:
        return self.everything or job_key(project, job) in self.readable

    def sees_dag(self, dag_id: str) -> bool:
        return self.everything or any(
            self.dags[key] == dag_id for key in self.readable if key in self.dags
        )

    def project(self, name: str) -> None:
        """404 unless the user may see the project (whether it exists is not revealed)."""
        if not self.sees_project(name):
            raise not_found(f"Project {name!r} not found")

    def project_dags(self, project: str) -> list[str]:
        """The DAG ids of every job of the project."""
        return sorted(
            dag for key, dag in self.dags.items() if self.projects_of_jobs[key] == project
        )

    def messages(self, where: MessageFilter) -> MessageFilter:
        """The filter narrowed to what the user may see."""
        if where.project is not None and not self.sees_project(where.project):
            # Nothing, and no lookup of the other project's trigger (its error would tell).
            return replace(where, trigger=None, visible_projects=(), visible_jobs=())
        return replace(
            where, visible_projects=self.visible_projects, visible_jobs=self.visible_jobs
        )

    def runs(self, where: RunFilter) -> RunFilter:
        """The filter narrowed to what the user may see."""
        return replace(where, visible_jobs=self.visible_jobs)

    def forbidden(
        self,
        dag_ids: Iterable[str],
        method: str = "POST",
        access_entity: DagAccessEntity | None = DagAccessEntity.RUN,
    ) -> list[str]:
        """The DAGs of ``dag_ids`` the user may NOT do ``method`` on (empty: all allowed)."""
        return forbidden_dags(self.user, dag_ids, method, access_entity)

    def visible_dags(self) -> set[str]:
        return {self.dags[key] for key in self.readable}

    def may_any(self, method: str, access_entity: DagAccessEntity | None) -> bool:
        """Whether the user may do ``method`` on at least one DAG they see."""
        visible = self.visible_dags()
        return len(self.forbidden(visible, method, access_entity)) < len(visible)

    def require_run(self, dag_ids: Iterable[str]) -> None:
        """403 unless the user may start runs of every DAG of ``dag_ids``."""
        forbidden = self.forbidden(dag_ids)
        if forbidden:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"Not allowed to run: {', '.join(forbidden)}"
            )

    def may_manage(self, project: str) -> bool:
        """Whether the user may edit every DAG of the project (its inbox is theirs to manage)."""
        dags = self.project_dags(project)
        if not dags:
            return self.everything and not self.forbidden(["~"], "PUT", None)
        return not self.forbidden(dags, "PUT", None)

    def require_manage(self, project: str) -> None:
        """404 unless the project is visible, 403 unless the user may edit all of its DAGs."""
        self.project(project)
        if not self.may_manage(project):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"Managing project {project!r} needs edit access to all of its DAGs",
            )


def not_found(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail)


def forbidden_dags(
    user: BaseUser,
    dag_ids: Iterable[str],
    method: str = "POST",
    access_entity: DagAccessEntity | None = DagAccessEntity.RUN,
) -> list[str]:
    """Return the DAGs of ``dag_ids`` the user may NOT do ``method`` on (empty: all allowed).

    ``"~"`` stands for DAGs in general (no particular DAG), as in Airflow's routes.
    """
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.models.dag import DagModel

    wanted = sorted(set(dag_ids))
    if not wanted:
        return []
    manager = get_auth_manager()
    teams = DagModel.get_dag_id_to_team_name_mapping([d for d in wanted if d != "~"])
    return [
        dag_id
        for dag_id in wanted
        if not manager.is_authorized_dag(
            method=method,  # type: ignore[arg-type]
            access_entity=access_entity,
            details=None if dag_id == "~" else DagDetails(id=dag_id, team_name=teams.get(dag_id)),
            user=user,
        )
    ]


def permissions_for(user: BaseUser, jobs: Sequence[dict[str, Any]]) -> Permissions:
    """What ``user`` may see of these jobs (rows of ``openfn_job``).

    Each DAG is asked about by id with its team, so a job whose DAG the dag-processor has not
    written yet is decided by the same rules as one it has.
    """
    dags = {job_key(row["project"], row["name"]): row["dag_id"] for row in jobs}
    projects = {job_key(row["project"], row["name"]): row["project"] for row in jobs}
    authorized = readable_dags(user, set(dags.values()))
    readable = frozenset(key for key, dag in dags.items() if dag in authorized)
    return Permissions(
        user=user,
        dags=dags,
        projects_of_jobs=projects,
        readable=readable,
        everything=len(readable) == len(dags)
        and (bool(dags) or not forbidden_dags(user, ["~"], "GET", None)),
    )


def readable_dags(user: BaseUser, dag_ids: set[str]) -> set[str]:
    """The DAGs of ``dag_ids`` the user may read, asked per team as Airflow's routes do."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.models.dag import DagModel

    if not dag_ids:
        return set()
    teams = DagModel.get_dag_id_to_team_name_mapping(sorted(dag_ids))
    by_team: dict[str | None, set[str]] = defaultdict(set)
    for dag_id in dag_ids:
        by_team[teams.get(dag_id)].add(dag_id)
    manager = get_auth_manager()
    readable: set[str] = set()
    for team, ids in by_team.items():
        readable |= manager.filter_authorized_dag_ids(
            dag_ids=ids, user=user, method="GET", team_name=team
        )
    return readable


def get_permissions(user: UserDep, conn: ConnDep) -> Permissions:
    """The caller's permissions; 403 for a user who may read no DAG at all."""
    from airflow.api_fastapi.app import get_auth_manager

    found = permissions_for(user, registry.list_all_jobs(conn))
    conn.rollback()  # the registry read ends its transaction: routes start their own
    if not found.readable and not get_auth_manager().is_authorized_dag(method="GET", user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    return found


PermissionsDep = Annotated[Permissions, Depends(get_permissions)]


def refuse_who_may_run_nothing(perms: PermissionsDep) -> None:
    """403 before anything else for a user who may start no run of a DAG they see (a viewer)."""
    if not perms.may_any("POST", DagAccessEntity.RUN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Your role may not start runs")


def refuse_who_may_edit_nothing(perms: PermissionsDep) -> None:
    """403 before anything else for a user who may change no DAG they see."""
    if not perms.may_any("PUT", None):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Your role may not change DAGs")
