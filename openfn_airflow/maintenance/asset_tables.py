"""Airflow's asset event and partition tables, pruned in batches (see ``airflow_db.asset_history``)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any

from openfn_airflow.airflow_db import asset_history
from openfn_airflow.store.database import connect

#: A table that lost this many rows is vacuumed at once, not when autovacuum gets to it.
VACUUM_AFTER = 10_000

log = logging.getLogger(__name__)


def clean_asset_tables(
    *,
    events_before: dt.datetime | None,
    partitions_before: dt.datetime,
    batch_size: int,
    vacuum_after: int = VACUUM_AFTER,
    url: str | None = None,
    logger: Any = None,
) -> dict[str, int]:
    """Delete consumed partition rows queued before ``partitions_before``, orphaned key log rows,
    and (unless ``events_before`` is None) asset events before ``events_before`` that nothing
    waits on, with their links. Returns the rows deleted per table; safe to run again.

    A table that lost ``vacuum_after`` rows or more is vacuumed right away: Airflow reads the
    partition table whole on every scheduler loop, dead rows included until a vacuum.
    """
    logger = logger or log
    totals: Counter[str] = Counter()
    with connect(url) as conn:
        for delete_batch in (
            asset_history.delete_consumed_partition_runs_batch,
            asset_history.delete_orphan_key_logs_batch,
        ):
            after = 0
            while True:
                batch = delete_batch(conn, partitions_before, after=after, limit=batch_size)
                conn.commit()
                totals.update(batch.deleted)
                after = batch.last_id
                if not batch.full:
                    break
        if events_before is not None:
            keep = asset_history.pending_partition_event_ids(conn)
            assets = asset_history.list_assets(conn)
            conn.commit()
            for asset in assets:
                key = asset_history.EVENT_START
                while True:
                    events = asset_history.delete_asset_events_batch(
                        conn, asset, events_before, keep=keep, after=key, limit=batch_size
                    )
                    conn.commit()
                    totals.update(events.deleted)
                    key = events.next_key
                    if not events.full:
                        break
    counts = {table: totals[table] for table in asset_history.TABLES}
    logger.info(
        "Asset tables: consumed partition rows before %s, asset events before %s deleted: %s",
        partitions_before.isoformat(timespec="seconds"),
        events_before.isoformat(timespec="seconds") if events_before else "(kept: off)",
        ", ".join(f"{table} {n:,}" for table, n in counts.items()),
    )
    asset_history.vacuum(
        [table for table, n in counts.items() if n >= vacuum_after], url=url, logger=logger
    )
    return counts
