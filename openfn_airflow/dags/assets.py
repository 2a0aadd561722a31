"""Register the asset events that start job DAG runs, inside the caller's Airflow DB session.

The inbox dispatcher and bulk reprocess call ``schedule_messages``; tests and benchmarks call it
too, standing in for them. One trigger asset serves both kinds of listening job:

- per-message jobs (partition-aware DAGs) get one event per message, each with a fresh UUID
  partition key, so the scheduler makes one DAG run per delivery;
- batched jobs (plain asset schedule) get one pending ledger run per message, written in the same
  transaction, and one event without a partition key that wakes the DAG. Their DAG runs claim the
  pending runs, so a message is never lost when Airflow folds events into an earlier DAG run or
  leaves a late one for the next.

Events carry the message ids in ``extra``. Paused DAGs (jobs switched off) get nothing: Airflow
would drop their events for good.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class UnknownAsset(LookupError):
    """The asset is not (yet) in Airflow's database: no DAG listens to it or it is not parsed."""


@dataclass
class Scheduled:
    """What ``schedule_messages`` registered."""

    per_message_jobs: list[str] = field(default_factory=list)
    batched_jobs: list[str] = field(default_factory=list)
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


def schedule_messages(
    session: Any, project: str, uri: str, message_ids: Sequence[int]
) -> Scheduled:
    """Schedule ``message_ids`` on the trigger asset ``uri`` for every job of ``project`` on it.

    Everything is written in ``session``; it takes effect when the caller commits.
    """
    from openfn_airflow.dags.factory import dag_id_for
    from openfn_airflow.store.queries import query

    asset = _asset_model(session, uri)
    prefix = dag_id_for(project, "")
    done = Scheduled()
    ids = [int(i) for i in message_ids]
    for dag_id, partitioned in _listening_dags(session, asset):
        if not dag_id.startswith(prefix):
            continue
        job = dag_id[len(prefix) :]
        (done.per_message_jobs if partitioned else done.batched_jobs).append(job)
        if not partitioned:
            session.connection().exec_driver_sql(
                query("queue_runs"), {"project": project, "job": job, "message_ids": ids}
            )
    if done.per_message_jobs:
        for message_id in ids:
            _register(session, asset, {"message_ids": [message_id]}, str(uuid.uuid4()))
        done.events += len(ids)
    if done.batched_jobs and ids:
        _register(session, asset, {"message_ids": ids, "queued": True})
        done.events += 1
    return done


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
    for message_id in message_ids:
        _register(session, asset, {"message_ids": [message_id]}, str(uuid.uuid4()))
    return len(message_ids)
