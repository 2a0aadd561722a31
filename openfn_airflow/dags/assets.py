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

Per-message events are written in bulk (``_register_partitioned``): Airflow's
``register_asset_change`` costs about 10 ms per event (it reloads the asset, its DAGs and each
DAG's serialized form every time), which made a 10,000-message reprocess take over a minute. The
bulk path writes the same rows Airflow writes for an event with a partition key (``asset_event``,
``asset_partition_dag_run``, ``partitioned_asset_key_log``), with each listening DAG's own
partition mapper and rollup fingerprint, and calls the same listener hooks.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class UnknownAsset(LookupError):
    """The asset is not (yet) in Airflow's database: no DAG listens to it or it is not parsed."""


@dataclass
class Scheduled:
    """What ``schedule_messages`` registered."""

    per_message_jobs: list[str] = field(default_factory=list)
    batched_jobs: list[str] = field(default_factory=list)
    #: ``auto`` jobs whose messages joined their queue (the job was busy).
    queued_jobs: list[str] = field(default_factory=list)
    events: int = 0


def _asset_model(session: Any, uri: str) -> Any:
    from airflow.models.asset import AssetActive, AssetModel
    from airflow.sdk import Asset
    from sqlalchemy import select

    normalized = Asset(uri).uri  # Airflow stores normalised URIs; a raw one finds nothing
    asset = session.scalar(
        select(AssetModel)
        .join(
            AssetActive,
            (AssetActive.name == AssetModel.name) & (AssetActive.uri == AssetModel.uri),
        )
        .where(AssetModel.uri == normalized)
        .limit(1)
    )
    if asset is None:
        raise UnknownAsset(f"asset {normalized} is not active in Airflow")
    return asset


def _listening_dags(session: Any, asset: Any) -> list[Any]:
    from airflow.models.asset import DagScheduleAssetReference
    from airflow.models.dag import DagModel
    from sqlalchemy import select

    return list(
        session.execute(
            select(DagModel.dag_id, DagModel.timetable_partitioned)
            .join(DagScheduleAssetReference, DagScheduleAssetReference.dag_id == DagModel.dag_id)
            .where(
                DagScheduleAssetReference.asset_id == asset.id,
                DagModel.is_paused.is_(False),
                DagModel.is_stale.is_(False),
            )
            .order_by(DagModel.dag_id)
        ).all()
    )


def _register(
    session: Any, asset: Any, extra: dict[str, Any], partition_key: str | None = None
) -> None:
    from airflow.assets.manager import asset_manager

    asset_manager.register_asset_change(
        asset=asset, extra=extra, partition_key=partition_key, session=session
    )


def _insert_returning_ids(session: Any, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    from sqlalchemy import insert

    if not rows:
        return []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows).all())


def _per_message(message_ids: Sequence[int]) -> list[dict[str, Any]]:
    return [{"message_ids": [message_id]} for message_id in message_ids]


def _register_partitioned(
    session: Any, asset: Any, dag_ids: Sequence[str], extras: list[dict[str, Any]]
) -> None:
    """One event per extra with a fresh UUID partition key, queued for each of ``dag_ids``.

    What ``register_asset_change(partition_key=...)`` does per event, for a whole batch: one
    ``asset_event`` per message, then per listening partition-aware DAG one pending
    ``asset_partition_dag_run`` per mapped key and its ``partitioned_asset_key_log`` row. Keys
    are new UUIDs, so no pending partition DAG run can already hold them.
    """
    from airflow._shared.observability.metrics import stats
    from airflow.assets.manager import AssetManager, _lock_asset_model
    from airflow.listeners.types import AssetEvent as ListenerAssetEvent
    from airflow.models.asset import AssetEvent, AssetPartitionDagRun, PartitionedAssetKeyLog
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.timetables.base import compute_rollup_fingerprint
    from airflow.utils.helpers import is_container

    keys = [str(uuid.uuid4()) for _ in extras]
    event_ids = _insert_returning_ids(
        session,
        AssetEvent,
        [
            {"asset_id": asset.id, "extra": extra, "partition_key": key}
            for extra, key in zip(extras, keys, strict=True)
        ],
    )
    with _lock_asset_model(session=session, asset_id=asset.id):
        for dag_id in dag_ids:
            serialized = SerializedDagModel.get(dag_id=dag_id, session=session)
            if serialized is None:
                raise RuntimeError(f"Could not find serialized dag for dag_id={dag_id}")
            timetable = serialized.dag.timetable
            fingerprint = compute_rollup_fingerprint(timetable)
            mapper = timetable.get_partition_mapper(name=asset.name, uri=asset.uri)
            pairs: list[tuple[int, str, str]] = []  # (event id, source key, target key)
            for event_id, key in zip(event_ids, keys, strict=True):
                target = mapper.to_downstream(key)
                for target_key in list(target) if is_container(target) else [target]:
                    pairs.append((event_id, key, target_key))
            run_ids = _insert_returning_ids(
                session,
                AssetPartitionDagRun,
                [
                    {
                        "target_dag_id": dag_id,
                        "created_dag_run_id": None,
                        "partition_key": target_key,
                        "partition_date": None,
                        "rollup_fingerprint": fingerprint,
                    }
                    for _, _, target_key in pairs
                ],
            )
            _insert_returning_ids(
                session,
                PartitionedAssetKeyLog,
                [
                    {
                        "asset_id": asset.id,
                        "asset_event_id": event_id,
                        "asset_partition_dag_run_id": run_id,
                        "source_partition_key": key,
                        "target_dag_id": dag_id,
                        "target_partition_key": target_key,
                    }
                    for (event_id, key, target_key), run_id in zip(pairs, run_ids, strict=True)
                ],
            )
    serialized_asset = asset.to_serialized()
    for extra, key in zip(extras, keys, strict=True):
        AssetManager.notify_asset_changed(asset=serialized_asset)
        AssetManager.nofity_asset_event_emitted(
            asset_event=ListenerAssetEvent(
                asset=serialized_asset,
                extra=extra,
                source_dag_id=None,
                source_task_id=None,
                source_run_id=None,
                source_map_index=-1,
                source_aliases=[],
                partition_key=key,
                partition_date=None,
            )
        )
    stats.incr("asset.updates", count=len(keys))


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

    asset = _asset_model(session, uri)
    prefix = dag_id_for(project, "")
    modes = jobs if isinstance(jobs, Mapping) else _job_modes(session, project)
    done = Scheduled()
    ids = [int(i) for i in message_ids]
    for dag_id, partitioned in _listening_dags(session, asset):
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
        _register_partitioned(session, asset, dag_ids, _per_message(ids))
        done.events += len(ids)
    if done.batched_jobs and ids:
        _register(session, asset, {"message_ids": ids, "queued": True})
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
    """
    from openfn_airflow.dags.factory import dag_id_for
    from openfn_airflow.dags.queue import dag_runs_not_started
    from openfn_airflow.dags.settings import auto_batch_max, auto_threshold
    from openfn_airflow.store.queries import query

    connection = session.connection()
    names = {"project": project, "job": job}
    connection.exec_driver_sql(query("lock_job_queue"), names)
    dag_id = dag_id_for(project, job)
    waiting = dag_runs_not_started(session, dag_id)
    pending, running = connection.exec_driver_sql(query("count_runs_under_way"), names).one()
    threshold = auto_threshold()
    if pending == 0 and running < threshold and waiting + len(message_ids) <= threshold:
        return False
    connection.exec_driver_sql(query("queue_runs"), {**names, "message_ids": message_ids})
    queued = pending + len(message_ids)
    wanted = min(threshold, -(-queued // auto_batch_max()))
    wakes = max(0, wanted - waiting)
    if wakes:
        # The first names the messages (the message page finds a delivery by it); the others
        # only wake a DAG run that takes from the queue.
        extras = [{"message_ids": message_ids, "queued": True}] + [{"queued": True}] * (wakes - 1)
        _register_partitioned(session, asset, [dag_id], extras)
    return True


def wake_queue(session: Any, project: str, uri: str, job: str) -> bool:
    """Start a DAG run of the ``auto`` job ``job`` for its queue if none will take it; whether one.

    The dispatcher's safety net for a queue left behind: the DAG runs it counted on failed
    or were deleted before they took from it. A paused job's queue waits for it to be switched on.
    """
    from openfn_airflow.dags.factory import dag_id_for
    from openfn_airflow.dags.queue import dag_runs_not_started
    from openfn_airflow.store.queries import query

    asset = _asset_model(session, uri)
    dag_id = dag_id_for(project, job)
    if not any(d == dag_id and partitioned for d, partitioned in _listening_dags(session, asset)):
        return False
    names = {"project": project, "job": job}
    connection = session.connection()
    connection.exec_driver_sql(query("lock_job_queue"), names)
    if dag_runs_not_started(session, dag_id) > 0:
        return False
    if not connection.exec_driver_sql(query("count_pending_runs"), names).scalar():
        return False
    _register_partitioned(session, asset, [dag_id], [{"queued": True}])
    return True


def register_message_events(
    session: Any, uri: str, message_ids: Sequence[int], *, per_message: bool
) -> int:
    """Register bare events for ``message_ids`` on ``uri`` (no pending runs); return the count.

    The lower-level form of ``schedule_messages``, for callers that pick the mode themselves:
    batched jobs run the messages named by the events their DAG run consumed.
    """
    asset = _asset_model(session, uri)
    if not per_message:
        _register(session, asset, {"message_ids": list(message_ids)})
        return 1
    dag_ids = [dag_id for dag_id, partitioned in _listening_dags(session, asset) if partitioned]
    _register_partitioned(session, asset, dag_ids, _per_message([int(i) for i in message_ids]))
    return len(message_ids)
