"""Register the asset events that start job DAG runs, inside the caller's Airflow DB session.

The inbox dispatcher and bulk reprocess call ``schedule_messages``; tests and benchmarks call it
too, standing in for them. One trigger asset serves every kind of listening job:

- per-message jobs (partition-aware DAGs) get one event per message, each with a fresh UUID
  partition key, so the scheduler makes one DAG run per delivery;
- batched jobs (plain asset schedule) get one pending ledger run per message, written in the same
  transaction, and one event without a partition key that wakes the DAG. Their DAG runs claim the
  pending runs, so a message is never lost when Airflow folds events into an earlier DAG run or
  leaves a late one for the next;
- auto jobs (partition-aware DAGs too) get what per-message jobs get while fewer than
  ``[openfn] auto_threshold`` of their DAG runs wait to start and nothing waits in their queue;
  otherwise their messages join their queue of pending runs, under the queue's lock, and events
  are registered only for the DAG runs still needed. Each of their DAG runs takes up to
  ``[openfn] auto_batch_max`` pending runs of the queue when its task starts.

Events carry the message ids in ``extra``. Paused DAGs (jobs switched off) get nothing: Airflow
would drop their events for good.

What is decided here (who gets what) is written to Airflow's tables by ``airflow_db.assets``:
per-message events in bulk, the rows Airflow's ``register_asset_change`` writes for an event
with a partition key; the others through ``register_asset_change`` itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openfn_airflow.airflow_db.assets import (
    UnknownAsset,
    active_asset,
    listening_dags,
    register_event,
    register_partitioned,
)

#: The window of an auto job's recent runs (``_queue_when_busy``).
RECENT_SECONDS = 2.0

__all__ = [
    "Scheduled",
    "UnknownAsset",
    "register_message_events",
    "schedule_messages",
    "wake_queue",
]


@dataclass
class Scheduled:
    """What ``schedule_messages`` registered."""

    per_message_jobs: list[str] = field(default_factory=list)
    batched_jobs: list[str] = field(default_factory=list)
    #: ``auto`` jobs whose messages joined their queue (the job was busy).
    queued_jobs: list[str] = field(default_factory=list)
    events: int = 0


def _per_message(message_ids: Sequence[int]) -> list[dict[str, Any]]:
    return [{"message_ids": [message_id]} for message_id in message_ids]


def schedule_messages(
    session: Any,
    project: str,
    uri: str,
    message_ids: Sequence[int],
    jobs: Collection[str] | Mapping[str, str] | None = None,
) -> Scheduled:
    """Schedule ``message_ids`` on the trigger asset ``uri`` for every job of ``project`` on it.

    ``jobs``: only these jobs (the registry's, which the inbox dispatcher passes, as a mapping to
    their ``runs``), so a DAG Airflow still has of a job its spec archived or removed gets
    nothing, even before Airflow marks it stale. Without modes, they are read from the registry.
    Everything is written in ``session``; it takes effect when the caller commits.
    """
    from openfn_airflow.dags.factory import dag_id_for
    from openfn_airflow.store.queries import query

    asset = active_asset(session, uri)
    prefix = dag_id_for(project, "")
    modes = jobs if isinstance(jobs, Mapping) else _job_modes(session, project)
    done = Scheduled()
    ids = [int(i) for i in message_ids]
    for dag_id, partitioned in listening_dags(session, asset):
        if not dag_id.startswith(prefix):
            continue
        job = dag_id[len(prefix) :]
        if jobs is not None and job not in jobs:
            continue
        if not partitioned:
            done.batched_jobs.append(job)
            session.connection().exec_driver_sql(
                query("queue_runs"), {"project": project, "job": job, "message_ids": ids}
            )
        elif (
            modes.get(job) == "auto" and ids and _queue_when_busy(session, asset, project, job, ids)
        ):
            done.queued_jobs.append(job)
        else:
            done.per_message_jobs.append(job)
    if done.per_message_jobs and ids:
        dag_ids = [prefix + job for job in done.per_message_jobs]
        register_partitioned(session, asset, dag_ids, _per_message(ids))
        done.events += len(ids)
    if done.batched_jobs and ids:
        register_event(session, asset, {"message_ids": ids, "queued": True})
        done.events += 1
    return done


def _job_modes(session: Any, project: str) -> dict[str, str]:
    from openfn_airflow.store.queries import query

    rows = session.connection().exec_driver_sql(query("list_job_modes"), {"project": project})
    return {row["name"]: row["runs"] for row in rows.mappings()}


def _queue_when_busy(
    session: Any, asset: Any, project: str, job: str, message_ids: list[int]
) -> bool:
    """Deliver to an ``auto`` job: False when each message should have its own DAG run.

    Under the job queue's lock (a claim waits for this transaction): while fewer than the
    threshold of its DAG runs wait to start, fewer than the threshold of its runs are running
    and nothing waits in its queue, one DAG run per message. Otherwise the messages join the
    job's queue as pending runs, which the DAG runs waiting to start take (``auto_batch_max``
    each) when they do, and events are registered only for the DAG runs still needed: as many as
    the queue fills, up to the threshold. The running runs keep a burst batched from one claim
    to the next: without them, every DAG run that claimed the queue left it empty and the next
    messages had a DAG run each until the threshold's worth waited again, each a task process.
    So do the job's runs of the last ``RECENT_SECONDS``: a job that gets more than the
    threshold's worth of messages in that time stays batched even while its cheap batches leave
    nothing running or waiting between one claim and the next (at 1 message a second it gets 2).
    """
    from openfn_airflow.airflow_db.dag_runs import dag_runs_not_started
    from openfn_airflow.dags.factory import dag_id_for
    from openfn_airflow.dags.settings import auto_batch_max, auto_threshold
    from openfn_airflow.store.queries import query

    connection = session.connection()
    names = {"project": project, "job": job}
    connection.exec_driver_sql(query("lock_job_queue"), names)
    dag_id = dag_id_for(project, job)
    waiting = dag_runs_not_started(session, dag_id)
    pending, running, recent = connection.exec_driver_sql(
        query("count_runs_under_way"), {**names, "seconds": RECENT_SECONDS}
    ).one()
    threshold = auto_threshold()
    if (
        pending == 0
        and running < threshold
        and waiting + len(message_ids) <= threshold
        and recent + len(message_ids) <= threshold
    ):
        return False
    connection.exec_driver_sql(query("queue_runs"), {**names, "message_ids": message_ids})
    queued = pending + len(message_ids)
    wanted = min(threshold, -(-queued // auto_batch_max()))
    wakes = max(0, wanted - waiting)
    if wakes:
        # The first names the messages (the message page finds a delivery by it); the others
        # only wake a DAG run that takes from the queue.
        extras = [{"message_ids": message_ids, "queued": True}] + [{"queued": True}] * (wakes - 1)
        register_partitioned(session, asset, [dag_id], extras)
    return True


def wake_queue(session: Any, project: str, uri: str, job: str) -> bool:
    """Start a DAG run of the ``auto`` job ``job`` for its queue if none will take it; whether one.

    The dispatcher's safety net for a queue left behind: the DAG runs it counted on failed
    or were deleted before they took from it. A paused job's queue waits for it to be switched on.
    """
    from openfn_airflow.airflow_db.dag_runs import dag_runs_not_started
    from openfn_airflow.dags.factory import dag_id_for
    from openfn_airflow.store.queries import query

    asset = active_asset(session, uri)
    dag_id = dag_id_for(project, job)
    if not any(d == dag_id and partitioned for d, partitioned in listening_dags(session, asset)):
        return False
    names = {"project": project, "job": job}
    connection = session.connection()
    connection.exec_driver_sql(query("lock_job_queue"), names)
    if dag_runs_not_started(session, dag_id) > 0:
        return False
    if not connection.exec_driver_sql(query("count_pending_runs"), names).scalar():
        return False
    register_partitioned(session, asset, [dag_id], [{"queued": True}])
    return True


def register_message_events(
    session: Any, uri: str, message_ids: Sequence[int], *, per_message: bool
) -> int:
    """Register bare events for ``message_ids`` on ``uri`` (no pending runs); return the count.

    The lower-level form of ``schedule_messages``, for callers that pick the mode themselves:
    batched jobs run the messages named by the events their DAG run consumed.
    """
    asset = active_asset(session, uri)
    if not per_message:
        register_event(session, asset, {"message_ids": list(message_ids)})
        return 1
    dag_ids = [dag_id for dag_id, partitioned in listening_dags(session, asset) if partitioned]
    register_partitioned(session, asset, dag_ids, _per_message([int(i) for i in message_ids]))
    return len(message_ids)
