"""The message history: search, count, export, one message's matches, and bulk reprocess.

Every function takes a psycopg connection first; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from openfn_airflow.store.errors import StoreError
from openfn_airflow.store.exports import copy_csv
from openfn_airflow.store.filters import COUNT_CAP, MessageFilter
from openfn_airflow.store.queries import fetch_all, fetch_one, fetch_one_within, query


class UnknownTrigger(StoreError):
    """The trigger named in a filter is not a message-filter trigger of the project."""


def _params(conn: psycopg.Connection, where: MessageFilter) -> dict[str, Any]:
    if where.trigger is None:
        return where.params()
    if where.project is None:
        raise UnknownTrigger("filtering by trigger needs the project it belongs to")
    row = fetch_one(conn, "get_trigger_filter", project=where.project, name=where.trigger)
    if row is None:
        raise UnknownTrigger(
            f"{where.trigger!r} is not a message-filter trigger of project {where.project!r}"
        )
    return where.params(criteria=row["criteria"], exclude=row["exclude"])


def search_messages(
    conn: psycopg.Connection, where: MessageFilter, *, limit: int, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Return messages newest first, with ``matched`` and their latest run; UnknownTrigger."""
    return fetch_all(
        conn, "search_messages", **_params(conn, where), before_id=before_id, limit=limit
    )


def count_messages(
    conn: psycopg.Connection,
    where: MessageFilter,
    cap: int = COUNT_CAP,
    budget_ms: int | None = None,
) -> int | None:
    """Return how many messages match, or None when more than ``cap`` do.

    ``budget_ms``: give up after that long (StatementTimedOut).
    """
    params = {**_params(conn, where), "cap": cap + 1}
    if budget_ms is None:
        row = fetch_one(conn, "count_messages", **params)
    else:
        row = fetch_one_within(conn, "count_messages", budget_ms, **params)
    assert row is not None
    return None if row["n"] > cap else row["n"]


def find_message_at(
    conn: psycopg.Connection, where: MessageFilter, position: int, budget_ms: int | None = None
) -> int | None:
    """Return the id of the matching message at ``position`` (0: the newest), None past the end.

    ``position`` stays under ``COUNT_CAP`` (ValueError): a page that deep is not looked up by
    reading that many rows. ``budget_ms``: give up after that long (StatementTimedOut).
    """
    if not 0 <= position < COUNT_CAP:
        raise ValueError(f"position {position} is not within the first {COUNT_CAP} matches")
    params = {**_params(conn, where), "position": position}
    if budget_ms is None:
        row = fetch_one(conn, "find_message_at", **params)
    else:
        row = fetch_one_within(conn, "find_message_at", budget_ms, **params)
    return None if row is None else int(row["id"])


def find_neighbours(
    conn: psycopg.Connection, message_id: int, project: str
) -> tuple[int | None, int | None]:
    """Return the ids of the next older and the next newer message of ``project``."""
    row = fetch_one(conn, "find_message_neighbours", message_id=message_id, project=project)
    assert row is not None
    return row["older"], row["newer"]


def export_messages(conn: psycopg.Connection, where: MessageFilter) -> Iterator[bytes]:
    """Yield the matching messages as CSV (with a header row), newest first, in constant memory."""
    return copy_csv(conn, query("export_messages"), _params(conn, where))


def matched_triggers(conn: psycopg.Connection, message_id: int) -> list[str]:
    """Return the names of the message-filter triggers the message matches now."""
    row = fetch_one(conn, "get_message_matched", message_id=message_id)
    return [] if row is None else list(row["matched"])


def listening_matches(conn: psycopg.Connection, message_id: int) -> list[str]:
    """Return the triggers the message would be delivered to if it arrived now."""
    return [row["name"] for row in fetch_all(conn, "list_listening_matches", message_id=message_id)]


def list_dispatches(
    conn: psycopg.Connection, message_id: int, limit: int = 100
) -> list[dict[str, Any]]:
    """Return the message's deliveries to triggers (the outbox rows), newest first."""
    return fetch_all(conn, "list_message_dispatches", message_id=message_id, limit=limit)


def count_reprocess(conn: psycopg.Connection, where: MessageFilter) -> dict[str, int]:
    """Return what reprocessing would queue: ``dispatches`` and the ``messages`` they cover."""
    row = fetch_one(conn, "count_reprocess_matches", **_params(conn, where))
    assert row is not None
    return {"dispatches": row["dispatches"], "messages": row["messages"]}


def queue_reprocess(conn: psycopg.Connection, where: MessageFilter) -> list[dict[str, Any]]:
    """Match the filtered messages again and queue one dispatch per match, in received order.

    Only triggers that a job listens to (on, with autoprocess) are queued, as for a message that
    just arrived. Returns the queued ``message_id`` / ``project`` / ``trigger`` rows.
    """
    rows = fetch_all(conn, "queue_reprocess_matches", **_params(conn, where))
    return [
        {"message_id": row["message_id"], "project": row["project"], "trigger": row["trigger"]}
        for row in rows
    ]


def waiting_deliveries(
    conn: psycopg.Connection, message_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """Return, per message id, its deliveries waiting in Airflow (no ledger run yet).

    Each: ``dag_id``, ``dag_run_id`` (None while the scheduler has not made the DAG run) and
    ``state`` (``queued`` or ``running``).
    """
    found: dict[int, list[dict[str, Any]]] = {message_id: [] for message_id in message_ids}
    if not message_ids:
        return found
    for row in fetch_all(conn, "list_waiting_deliveries", message_ids=message_ids):
        found[row.pop("message_id")].append(row)
    return found
