"""The dispatch outbox (``openfn_dispatch``) and the search vectors the dispatcher fills in.

The claim / mark / defer statements run inside Airflow's ORM session (``inbox/dispatcher.py``),
since they must commit with the asset events. Every function here takes a psycopg connection
first; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from openfn_airflow.store.errors import DatabaseUnavailable, StoreError
from openfn_airflow.store.queries import execute, fetch_all


def list_dispatches(
    conn: psycopg.Connection[Any], message_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """Return the dispatch rows of these messages (their matched triggers), oldest first."""
    return fetch_all(conn, "list_dispatches", message_ids=list(message_ids))


def index_messages(conn: psycopg.Connection[Any], limit: int = 1000) -> int:
    """Fill in the search vector of up to ``limit`` messages lacking one; return how many.

    A message whose text does not fit in a tsvector gets an empty one (it is not searchable by
    text) instead of failing every later batch. Needs an autocommit connection.
    """
    try:
        return execute(conn, "index_messages", limit=limit)
    except DatabaseUnavailable:
        raise
    except StoreError:
        pass  # one message too big for a tsvector: go one by one
    done = 0
    for row in fetch_all(conn, "unindexed_message_ids", limit=limit):
        try:
            done += execute(conn, "index_message", message_id=row["id"])
        except DatabaseUnavailable:
            raise
        except StoreError:
            done += execute(conn, "give_up_indexing_message", message_id=row["id"])
    return done
