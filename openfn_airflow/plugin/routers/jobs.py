"""Jobs: each job of each project with its trigger, flags, Airflow DAG state and last run.

The registry (``openfn_job``, ``openfn_trigger``) says which jobs exist and what message filter
they listen to; the project spec on disk adds what only it knows (cron and timezone, upstream
job, console and test-mode flags) and its archived jobs (``archived: true``: no DAG, listed with
``archived`` true and their last run, to whoever may see the project; a stale DAG Airflow still
has of one is never shown as a live job); Airflow's ``dag`` table says whether the job is on (its
DAG unpaused), the one switch. Switching a job on or off and "run now" are Airflow's own REST API
(``PATCH /api/v2/dags/{dag_id}``, ``POST /api/v2/dags/{dag_id}/dagRuns``), with its checks; the
registry sync switches it when the spec's ``enabled`` changes. Who switched it last is the later
of that sync (``openfn_job.enabled_changed_at``) and Airflow's audit log of the PATCH.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import zoneinfo
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query

from openfn_airflow.airflow_db.dags import dags_paused
from openfn_airflow.plugin.deps import ConnDep
from openfn_airflow.plugin.models.common import single_values, utcnow
from openfn_airflow.plugin.models.jobs import (
    Job,
    JobLastRun,
    JobList,
    JobQuery,
    JobSwitch,
    JobTrigger,
)
from openfn_airflow.plugin.permissions import PermissionsDep
from openfn_airflow.spec.models import job_dag_id
from openfn_airflow.store import projects, registry

log = logging.getLogger(__name__)

NEXT_RUNS = 3
# Airflow's cron presets as the expressions they stand for (airflow.utils.dates.cron_presets).
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}
# The latest run of each job: one index probe per job on (project, job, id DESC).
LAST_RUNS_SQL = """
SELECT j.name AS job, r.id, r.status, r.exit_code, r.started_at, r.finished_at, r.created_at,
       r.dag_id, r.dag_run_id
FROM unnest(%(jobs)s::text[]) AS j (name)
CROSS JOIN LATERAL (
    SELECT id, status, exit_code, started_at, finished_at, created_at, dag_id, dag_run_id
    FROM openfn_run
    WHERE project = %(project)s AND job = j.name
    ORDER BY id DESC
    LIMIT 1
) AS r
"""

router = APIRouter(tags=["jobs"])

__all__ = ["Job", "JobList", "JobQuery", "router"]


@router.get("/jobs", dependencies=[single_values(JobQuery)])
def list_jobs(
    filters: Annotated[JobQuery, Query()], conn: ConnDep, perms: PermissionsDep
) -> JobList:
    """List the jobs of every project (or one), archived ones too, by project and name."""
    names = [row["name"] for row in projects.list_projects(conn) if perms.sees_project(row["name"])]
    if filters.project is not None:
        names = [name for name in names if name == filters.project]
    needle = (filters.q or "").strip().lower()
    trigger_needle = (filters.trigger or "").strip().lower()

    def wanted(name: str, trigger: str | None) -> bool:
        return needle in name.lower() and (
            not trigger_needle or trigger_needle in (trigger or "").lower()
        )

    specs = project_specs()
    now = utcnow()
    items: list[Job] = []
    spec_changed_at: dict[tuple[str, str], dt.datetime | None] = {}
    for project in names:
        spec = specs.get(project)
        archived = spec.archived if spec is not None else {}
        rows = [
            row
            for row in registry.list_jobs(conn, project)
            # Archived since the registry's last sync: the spec on disk says so already.
            if row["name"] not in archived
            and wanted(row["name"], row["trigger"])
            and perms.sees_run(project, row["name"])
        ]
        # Whoever sees the project sees its archived jobs; their runs as any job's runs.
        shelved = [job for name, job in archived.items() if wanted(name, job.job.trigger)]
        if not rows and not shelved:
            continue
        message_triggers = {row["name"]: row for row in registry.list_triggers(conn, project)}
        last_runs = _last_runs(
            conn,
            project,
            [row["name"] for row in rows]
            + [job.name for job in shelved if perms.sees_run(project, job.name)],
        )
        found: list[Job] = []
        for row in rows:
            spec_changed_at[(project, row["name"])] = row["enabled_changed_at"]
            job = spec.jobs.get(row["name"]) if spec is not None else None
            found.append(
                Job(
                    project=project,
                    name=row["name"],
                    dag_id=row["dag_id"],
                    trigger=_trigger(row["trigger"], message_triggers, spec, now),
                    enabled=row["enabled"],
                    is_paused=None,
                    autoprocess=row["autoprocess"],
                    runs=row["runs"],
                    test_mode=job.test_mode if job is not None else None,
                    console=job.console if job is not None else None,
                    credential=job.credential if job is not None else None,
                    language=job.language if job is not None else None,
                    adaptors=list(job.adaptors) if job is not None else [],
                    last_run=last_runs.get(row["name"]),
                )
            )
        for shelf in shelved:
            job = shelf.job
            found.append(
                Job(
                    project=project,
                    name=job.name,
                    dag_id=job_dag_id(project, job.name),
                    archived=True,
                    trigger=_archived_trigger(job.trigger, shelf.trigger, spec),
                    enabled=job.enabled,
                    is_paused=None,
                    autoprocess=job.autoprocess,
                    runs=job.runs,
                    test_mode=job.test_mode,
                    console=job.console,
                    credential=job.credential,
                    language=job.language,
                    adaptors=list(job.adaptors),
                    last_run=last_runs.get(job.name),
                )
            )
        items.extend(sorted(found, key=lambda job: job.name))
    live = [job for job in items if not job.archived]
    paused = dags_paused([job.dag_id for job in live])
    changes = registry.switch_changes(conn, [job.dag_id for job in live])
    for job in live:
        job.is_paused = paused.get(job.dag_id)
        job.switched = last_switch(job, spec_changed_at.get((job.project, job.name)), changes)
    return JobList(items=items, total=len(items))


def _last_runs(conn: Any, project: str, jobs: list[str]) -> dict[str, JobLastRun]:
    """The latest ledger run of each of ``jobs`` that has one."""
    if not jobs:
        return {}
    rows = conn.execute(LAST_RUNS_SQL, {"project": project, "jobs": jobs}).fetchall()
    return {row["job"]: JobLastRun(**{k: v for k, v in row.items() if k != "job"}) for row in rows}


def last_switch(
    job: Job, spec_changed_at: dt.datetime | None, changes: dict[str, Any]
) -> JobSwitch | None:
    """The later of the spec's last change of `enabled` and the DAG's last PATCH in Airflow's
    audit log, when it switched the job to the state it is in (else something else did)."""
    if job.is_paused is None:
        return None
    candidates = []
    if spec_changed_at is not None:
        candidates.append(JobSwitch(by="spec", on=job.enabled, at=spec_changed_at))
    change = changes.get(job.dag_id)
    if change is not None:
        try:
            paused = json.loads(change["extra"] or "{}").get("is_paused")
        except ValueError:
            paused = None
        if isinstance(paused, str):
            paused = paused.strip().lower() == "true"
        if isinstance(paused, bool):
            at = change["dttm"]
            candidates.append(
                JobSwitch(
                    by="user",
                    on=not paused,
                    at=at if at.tzinfo else at.replace(tzinfo=dt.UTC),
                    user=change["owner_display_name"] or change["owner"],
                )
            )
    if not candidates:
        return None
    latest = max(candidates, key=lambda c: c.at)
    return latest if latest.on is not job.is_paused else None


def _trigger(
    name: str | None, message_triggers: dict[str, Any], spec: Any, now: dt.datetime
) -> JobTrigger:
    if name is None:
        return JobTrigger(name=None, kind="manual")
    if name in message_triggers:
        row = message_triggers[name]
        return JobTrigger(
            name=name, kind="message", criteria=row["criteria"], exclude=row["exclude"]
        )
    found = spec.triggers.get(name) if spec is not None else None
    if found is None:
        return JobTrigger(name=name, kind="manual")
    return _spec_trigger(found, spec, now)


def _archived_trigger(name: str | None, found: Any, spec: Any) -> JobTrigger:
    """What an archived job listened to, from its spec: a cron never fires, so no next times."""
    if found is None:
        return JobTrigger(name=name, kind="manual")
    return _spec_trigger(found, spec, None)


def _spec_trigger(found: Any, spec: Any, now: dt.datetime | None) -> JobTrigger:
    """A trigger of the spec as the API shows it; ``now`` None: without the next cron times."""
    name = found.name
    if found.kind == "cron":
        return JobTrigger(
            name=name,
            kind="cron",
            cron=found.cron,
            timezone=found.timezone,
            schedule=describe_cron(found.cron or ""),
            next_runs=[] if now is None else next_cron_times(found.cron or "", found.timezone, now),
        )
    if found.kind in ("success", "failure"):
        return JobTrigger(
            name=name,
            kind=found.kind,
            upstream=found.upstream,
            upstream_archived=found.upstream in spec.archived,
        )
    return JobTrigger(name=name, kind="message", criteria=found.criteria, exclude=found.exclude)


def describe_cron(expression: str) -> str | None:
    """The cron expression in words ("Every 5 minutes"), as Airflow's UI describes timetables."""
    from cron_descriptor import CasingTypeEnum, ExpressionDescriptor, Options

    options = Options()
    options.casing_type = CasingTypeEnum.Sentence
    options.use_24hour_time_format = True
    try:
        return str(
            ExpressionDescriptor(
                CRON_PRESETS.get(expression, expression), options
            ).get_description()
        )
    except Exception:  # an expression Airflow accepts but the describer does not
        return None


def next_cron_times(
    expression: str, timezone: str, now: dt.datetime, count: int = NEXT_RUNS
) -> list[dt.datetime]:
    """The cron's next ``count`` times after ``now``, in its time zone, returned in UTC."""
    from croniter import croniter

    try:
        zone = zoneinfo.ZoneInfo(timezone)
        times = croniter(CRON_PRESETS.get(expression, expression), now.astimezone(zone))
        return [times.get_next(dt.datetime).astimezone(dt.UTC) for _ in range(count)]
    except Exception:
        return []


def project_specs() -> dict[str, Any]:
    """The readable project specs by project name (cached per file version): the DAGs folder's,
    then the git bundles' at the commit their DAGs were parsed at."""
    from openfn_airflow.bundles.folders import spec_folders
    from openfn_airflow.inbox import settings
    from openfn_airflow.spec import find_projects

    found: dict[str, Any] = {}
    paths = []
    for folder in spec_folders(settings.dags_folder()).folders:
        try:
            paths.extend(find_projects(folder))
        except OSError:
            continue
    for path in paths:
        try:
            project = _load(path, path.stat().st_mtime_ns)
        except Exception:
            log.debug("OpenFn project spec %s cannot be read", path, exc_info=True)
            continue
        found.setdefault(project.name, project)
    return found


@functools.lru_cache(maxsize=64)
def _load(path: Path, mtime_ns: int) -> Any:
    from openfn_airflow.spec import load_project_lenient

    return load_project_lenient(path)
