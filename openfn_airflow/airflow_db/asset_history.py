"""Airflow's asset tables, bounded: consumed partition rows and old asset events, in batches.

Airflow 3.3 never deletes from ``asset_event``, ``asset_partition_dag_run`` (APDR) or
``partitioned_asset_key_log``, and ``airflow db clean`` covers only part of them: it deletes
asset events by age alone (also those a DAG has not consumed yet) and key log rows whose APDR
is gone, but no APDR at all. The APDR table has no index for what Airflow asks of it on every
new partitioned event (the latest APDR of a DAG and key) and in every scheduler loop (the
pending ones), so each of those reads the whole table: with a million rows an event cost
~120 ms. Deleting what is only history keeps them fast:

- a consumed APDR (``created_dag_run_id`` set: its DAG run exists) and its key log rows;
- key log rows whose APDR is gone (deleted with its DAG run by ON DELETE CASCADE);
- asset events before a cutoff with their ``dagrun_asset_event`` and ``asset_alias_asset_event``
  links, except those still to be consumed: counted towards a pending APDR, newer than the
  oldest ``asset_dag_run_queue`` row of their asset, or the triggering events of a DAG run
  that is queued or running.

Each ``delete_*_batch`` deletes at most ``limit`` rows; the caller owns the transaction and
commits each batch. ``vacuum`` vacuums the tables that lost many rows (``maintenance.asset_tables``
says when).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from openfn_airflow.store.database import connect
from openfn_airflow.store.errors import StoreError
from openfn_airflow.store.queries import execute, fetch_all

#: The tables pruned here, as ``clean_asset_tables`` reports them.
TABLES = (
    "asset_partition_dag_run",
    "partitioned_asset_key_log",
    "asset_event",
    "dagrun_asset_event",
    "asset_alias_asset_event",
)
log = logging.getLogger(__name__)
EVENT_START = (dt.datetime.min.replace(tzinfo=dt.UTC), 0)


@dataclass
class IdBatch:
    """What one batch deleted (rows per table), and the last id it looked at."""

    deleted: dict[str, int] = field(default_factory=dict)
    last_id: int = 0
    full: bool = False  # as many rows as asked for: there may be more


@dataclass
class EventBatch:
    deleted: dict[str, int] = field(default_factory=dict)
    next_key: tuple[dt.datetime, int] = EVENT_START
    full: bool = False


@dataclass(frozen=True)
class Asset:
    id: int
    queued_since: dt.datetime | None  # oldest asset_dag_run_queue row: a DAG waits on it


def list_assets(conn: psycopg.Connection[Any]) -> list[Asset]:
    return [Asset(row["id"], row["queued_since"]) for row in fetch_all(conn, "list_assets")]


def pending_partition_event_ids(conn: psycopg.Connection[Any]) -> list[int]:
    """Ids of the events that count towards partition DAG runs not created yet."""
    return [row["id"] for row in fetch_all(conn, "pending_partition_event_ids")]


def delete_consumed_partition_runs_batch(
    conn: psycopg.Connection[Any], before: dt.datetime, *, after: int = 0, limit: int = 5000
) -> IdBatch:
    """Delete up to ``limit`` consumed APDRs created before ``before``, with their key log rows."""
    ids = [
        row["id"]
        for row in fetch_all(
            conn, "claim_consumed_partition_runs", cutoff=before, after=after, limit=limit
        )
    ]
    if not ids:
        return IdBatch(last_id=after)
    deleted = {
        "partitioned_asset_key_log": execute(conn, "delete_key_logs_of_partition_runs", ids=ids),
        "asset_partition_dag_run": execute(conn, "delete_partition_runs", ids=ids),
    }
    return IdBatch(deleted, ids[-1], full=len(ids) == limit)


def delete_orphan_key_logs_batch(
    conn: psycopg.Connection[Any], before: dt.datetime, *, after: int = 0, limit: int = 5000
) -> IdBatch:
    """Delete up to ``limit`` key log rows created before ``before`` whose APDR is gone."""
    ids = [
        row["id"]
        for row in fetch_all(conn, "claim_orphan_key_logs", cutoff=before, after=after, limit=limit)
    ]
    if not ids:
        return IdBatch(last_id=after)
    deleted = {"partitioned_asset_key_log": execute(conn, "delete_key_logs", ids=ids)}
    return IdBatch(deleted, ids[-1], full=len(ids) == limit)


def delete_asset_events_batch(
    conn: psycopg.Connection[Any],
    asset: Asset,
    before: dt.datetime,
    *,
    keep: list[int],
    after: tuple[dt.datetime, int] = EVENT_START,
    limit: int = 5000,
) -> EventBatch:
    """Delete up to ``limit`` of the asset's events before ``before`` that nothing waits on.

    ``keep``: ids of events a pending partition DAG run counts (``pending_partition_event_ids``).
    Events at or after ``asset.queued_since`` are kept as well: a DAG has yet to consume them.
    """
    if asset.queued_since is not None:
        before = min(before, asset.queued_since)
    rows = fetch_all(
        conn,
        "claim_expired_asset_events",
        asset_id=asset.id,
        cutoff=before,
        after_at=after[0],
        after_id=after[1],
        keep=keep,
        limit=limit,
    )
    if not rows:
        return EventBatch(next_key=after)
    ids = [row["id"] for row in rows]
    deleted = {
        "dagrun_asset_event": execute(conn, "delete_event_dag_run_links", ids=ids),
        "asset_alias_asset_event": execute(conn, "delete_event_alias_links", ids=ids),
        "asset_event": execute(conn, "delete_asset_events", ids=ids),
    }
    last = rows[-1]
    return EventBatch(deleted, (last["timestamp"], last["id"]), full=len(rows) == limit)


def vacuum(tables: list[str], *, url: str | None = None, logger: Any = None) -> None:
    """``VACUUM (ANALYZE)`` each table; a failure (not the table's owner, say) is only logged."""
    logger = logger or log
    if not tables:
        return
    with connect(url) as conn:
        conn.autocommit = True  # VACUUM cannot run in a transaction
        for table in tables:
            try:
                conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
                logger.info("Vacuumed %s", table)
            except (psycopg.Error, StoreError) as error:
                logger.warning("Could not vacuum %s (autovacuum will): %s", table, error)
