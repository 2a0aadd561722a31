"""Deleting each project's messages and runs past its retention periods, a batch per transaction."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Literal

from openfn_airflow.store import retention
from openfn_airflow.store.database import connect

Kind = Literal["messages", "runs"]
#: Rows deleted per transaction: short transactions, few locks held, no giant DELETE.
BATCH_SIZE = 5000

log = logging.getLogger(__name__)


def purge_expired(
    kind: Kind,
    periods: Mapping[str, float | None],
    *,
    batch_size: int = BATCH_SIZE,
    url: str | None = None,
    logger: Any = None,
) -> dict[str, dict[str, int]]:
    """Delete every project's ``kind`` older than its period (seconds; None keeps them all).

    Returns, per project with a period, the rows deleted (or changed) per table. Running it
    again deletes nothing more: it is safe to retry.
    """
    logger = logger or log
    delete_batch: Callable[..., retention.Batch] = (
        retention.delete_messages_batch if kind == "messages" else retention.delete_runs_batch
    )
    results: dict[str, dict[str, int]] = {}
    with connect(url) as conn:
        for project, seconds in sorted(periods.items()):
            if seconds is None:
                logger.info("Project %s: no retention for %s, all of them are kept", project, kind)
                continue
            before = retention.cutoff(conn, seconds)
            conn.commit()
            totals: Counter[str] = Counter()
            after, batches = retention.START, 0
            while True:
                batch = delete_batch(conn, project, before, after=after, limit=batch_size)
                conn.commit()
                batches += 1
                totals.update(batch.deleted)
                after = batch.next_key
                if not batch.full:
                    break
            results[project] = {table: totals[table] for table in sorted(totals)}
            logger.info(
                "Project %s: %s before %s deleted in %d batch(es): %s",
                project,
                kind,
                before.isoformat(timespec="seconds"),
                batches,
                describe(results[project]),
            )
    return results


def describe(counts: Mapping[str, int]) -> str:
    """``"openfn_message 12, openfn_dispatch 30"``, or ``"nothing"``."""
    return ", ".join(f"{table} {n:,}" for table, n in counts.items()) or "nothing"
