"""Airflow's asset tables, written for the trigger asset's events (see ``dags.assets``).

``register_event`` is Airflow's own ``register_asset_change``. ``register_partitioned`` writes
what it writes for events with a partition key, in bulk (Airflow's costs about 10 ms an event: it
reloads the asset, its DAGs and each DAG's serialized form every time, which made a 10,000-message
reprocess take over a minute): one ``asset_event`` per event, then per listening partition-aware
DAG one pending ``asset_partition_dag_run`` per mapped key and its ``partitioned_asset_key_log``
row, with each DAG's own partition mapper and rollup fingerprint, under Airflow's own lock of the
asset (``_lock_asset_model``, private), and the same listener hooks and metric.
``tests/integration/inbox/test_airflow_contract.py`` registers an event both ways and compares
the rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any


class UnknownAsset(LookupError):
    """The asset is not (yet) in Airflow's database: no DAG listens to it or it is not parsed."""


def active_asset(session: Any, uri: str) -> Any:
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


def listening_dags(session: Any, asset: Any) -> list[Any]:
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


def register_event(
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


def register_partitioned(
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
