"""Turn a validated project into Airflow DAGs: the one place where DAG objects are built."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Literal

from airflow.sdk import (
    DAG,
    Asset,
    CronTriggerTimetable,
    Param,
    PartitionedAssetTimetable,
    TriggerRule,
)

from openfn_airflow.dags.operators import (
    EmitRunEventsOperator,
    OpenFnJobOperator,
    mark_unfinished_runs,
)
from openfn_airflow.spec import Job, Project

log = logging.getLogger(__name__)

DAG_ID_PREFIX = "openfn"
START_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
# The job task's own Airflow timeout is a backstop behind the runtime's, which records exit 2.
TIMEOUT_GRACE_SECONDS = 60
UPSTREAM_KINDS = ("success", "failure")


def dag_id_for(project: str, job: str) -> str:
    return f"{DAG_ID_PREFIX}__{project}__{job}"


def default_job_timeout() -> float:
    from airflow.configuration import conf

    return float(conf.getint("openfn", "job_timeout", fallback=300))


def _schedule(project: Project, job: Job) -> Any:
    trigger = project.trigger_of(job)
    if trigger is None or (trigger.kind == "message" and not job.autoprocess):
        return None
    if trigger.kind == "cron":
        return CronTriggerTimetable(trigger.cron or "", timezone=trigger.timezone)
    if trigger.kind == "message":
        asset = Asset(project.trigger_asset_uri(trigger.name))
        if job.runs == "batched":
            return [asset]
        return PartitionedAssetTimetable(assets=asset)
    upstream = trigger.upstream or ""
    upstream_uri = (
        project.success_asset_uri(upstream)
        if trigger.kind == "success"
        else project.failure_asset_uri(upstream)
    )
    return PartitionedAssetTimetable(assets=Asset(upstream_uri))


def _doc(project: Project, job: Job) -> str:
    trigger = project.trigger_of(job)
    described = "run by hand only" if trigger is None else _describe(trigger)
    if trigger is not None and trigger.upstream in project.archived:
        described += f" (`{trigger.upstream}` is archived, so that never happens: run by hand only)"
    source = job.file.read_text(encoding="utf-8")
    return (
        f"**OpenFn job** `{job.name}` of project `{project.name}`, {described}.\n\n"
        f"Job file `{job.file.relative_to(project.root)}`:\n\n```{job.language}\n{source}\n```\n"
    )


def _describe(trigger) -> str:
    if trigger.kind == "cron":
        return f"cron `{trigger.cron}` ({trigger.timezone})"
    if trigger.kind == "message":
        return f"message filter `{trigger.name}`"
    return f"on {trigger.kind} of `{trigger.upstream}`"


def chain_depth(project: Project, job: Job) -> int:
    """How many jobs come before ``job`` in its chain of success and failure triggers."""
    depth, seen, current = 0, {job.name}, job
    while True:
        trigger = project.trigger_of(current)
        upstream = project.jobs.get(trigger.upstream) if trigger and trigger.upstream else None
        if upstream is None or upstream.name in seen:
            return depth
        seen.add(upstream.name)
        depth, current = depth + 1, upstream


def build_job_dag(project: Project, job: Job) -> DAG:
    """Build the DAG of one job; raises if the job cannot be turned into a DAG."""
    trigger = project.trigger_of(job)
    kind = trigger.kind if trigger is not None else ""
    timeout = job.timeout if job.timeout is not None else default_job_timeout()
    # An auto job's DAG run may carry a batch of messages, each its own OpenFn run with its own
    # timeout (exit 2): the task as a whole has no timeout, as a batched job's has none.
    many = job.runs == "batched" or (job.runs == "auto" and kind in ("message", *UPSTREAM_KINDS))
    # Work under way before new work: when task slots are short, Airflow starts the queued
    # tasks of highest priority first, and a job's tasks rank above those of the jobs before it
    # in its chain (its emits above its run), so a chain drains as it goes instead of every
    # follower waiting for a burst to its first job to end (Airflow's default weights rank them
    # the other way: a task with more tasks after it in its own DAG first).
    stage = 2 * chain_depth(project, job)
    tags = {"openfn", f"project:{project.name}", f"trigger:{kind or 'manual'}", *job.tags}
    dag = DAG(
        dag_id=dag_id_for(project.name, job.name),
        description=job.description or f"OpenFn job {job.name} ({project.name})",
        schedule=_schedule(project, job),
        start_date=START_DATE,
        catchup=False,
        # A cron job's run starts from the cursor its previous run left: two at once would both
        # start from the same one (a late tick next to the following one did, on a loaded
        # machine), so a cron job runs one at a time unless its spec says otherwise.
        max_active_runs=job.concurrency or (1 if kind == "cron" else None),
        is_paused_upon_creation=not job.enabled,
        # The loader hands DAGs to Airflow explicitly; the spec check builds them only to test.
        auto_register=False,
        tags=sorted(tags),
        doc_md=_doc(project, job),
        default_args={"owner": job.owner or "openfn", "retries": 0},
        params={
            "message_id": Param(
                None,
                type=["null", "integer"],
                title="Message id",
                description="Run the job on this inbox message.",
            ),
            "state": Param(
                None,
                type=["null", "object"],
                title="Input state (JSON)",
                description="Run the job on this initial state instead.",
            ),
            "retry_of": Param(
                None,
                type=["null", "integer"],
                title="Retry of run",
                description="Run the job again on the initial state of this OpenFn run, "
                "recorded as its retry.",
            ),
        },
    )
    with dag:
        run = OpenFnJobOperator(
            task_id="run",
            project=project.name,
            job=job.name,
            job_file=str(job.file),
            adaptors=tuple(job.adaptors),
            trigger_kind=kind,
            credential=job.credential,
            job_timeout=timeout,
            console=job.console,
            test_mode=job.test_mode,
            runs=job.runs,
            on_failure_callback=mark_unfinished_runs,
            priority_weight=stage + 1,
            weight_rule="absolute",
            # A project's concurrency: every job's run task takes a slot of the project's pool
            # (created and sized by the api-server from the spec: inbox/pools.py).
            **({"pool": project.pool} if project.pool else {}),
            execution_timeout=None
            if many
            else dt.timedelta(seconds=timeout + TIMEOUT_GRACE_SECONDS),
        )
        outcomes: tuple[tuple[Literal["success", "failure"], str], ...] = (
            ("success", project.success_asset_uri(job.name)),
            ("failure", project.failure_asset_uri(job.name)),
        )
        for outcome, uri in outcomes:
            downstream = project.downstream_of(job.name, outcome)
            if not downstream:
                continue
            emit = EmitRunEventsOperator(
                task_id=f"emit_{outcome}",
                outcome=outcome,
                project=project.name,
                job=job.name,
                # One event per run unless every job downstream takes several in one DAG run.
                fold=many and all(other.runs == "auto" for other in downstream),
                outlets=[Asset(uri)],
                priority_weight=stage + 2,
                weight_rule="absolute",
                trigger_rule=TriggerRule.ALL_SUCCESS
                if outcome == "success"
                else TriggerRule.ALL_FAILED,
            )
            run >> emit
            if many:
                # Some runs of the DAG run may succeed and others fail: each outcome's emit
                # runs once the run task is done, whatever its state (a teardown without setups).
                # Airflow leaves teardowns out of the DAG run's state, so the DAG run is failed
                # when a run failed or its task was lost, as a per-message one.
                emit.as_teardown()
    return dag


def build_project_dags(
    project: Project, only_dag_id: str | None = None
) -> tuple[dict[str, DAG], list[str]]:
    """Build every valid job's DAG in isolation: one job that fails does not hide the others.

    ``only_dag_id``: build just that DAG (a task process needs only its own).
    """
    dags: dict[str, DAG] = {}
    errors: list[str] = []
    for job in project.jobs.values():
        if only_dag_id is not None and dag_id_for(project.name, job.name) != only_dag_id:
            continue
        try:
            dag = build_job_dag(project, job)
        except Exception as exc:
            log.exception("Could not build the DAG of job %s/%s", project.name, job.name)
            errors.append(f"jobs.{job.name}: could not build its DAG: {type(exc).__name__}: {exc}")
            continue
        dags[dag.dag_id] = dag
    return dags, errors
