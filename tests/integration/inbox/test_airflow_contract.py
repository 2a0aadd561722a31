"""Our bulk registration of per-message events writes what Airflow's own would.

``airflow_db/assets.py`` writes Airflow's asset tables directly (Airflow's ``register_asset_change``
costs about 10 ms an event). This registers one event through Airflow's asset manager and one
through ours, for the same asset and its partition-aware DAG, and compares the rows each left in
Airflow's tables: an Airflow upgrade that changes them fails here instead of losing messages.
"""

from __future__ import annotations

from typing import Any

import pytest
from inbox_helpers import PROJECT, airflow_dags

from openfn_airflow.dags.factory import dag_id_for
from openfn_airflow.inbox.dispatcher import trigger_asset_uri

__all__ = ["airflow_dags"]

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_dags")]

# Airflow's tables an event with a partition key writes to (or, for a DAG that is not
# partition-aware, would): rows of each, as JSON.
TABLES = (
    "asset_event",
    "asset_partition_dag_run",
    "partitioned_asset_key_log",
    "asset_dag_run_queue",
)
# Columns that differ between any two events: when, and their own ids.
VOLATILE = {"id", "timestamp", "created_at", "updated_at"}


def _rows_since(session: Any, marks: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    from sqlalchemy import text

    found = {}
    for table in TABLES:
        order = "id" if "id" in _columns(session, table) else "created_at"
        where = f"WHERE id > {marks[table]}" if order == "id" else "WHERE created_at > :since"
        rows = session.execute(
            text(f"SELECT row_to_json(t)::jsonb AS row FROM {table} AS t {where} ORDER BY {order}"),
            {"since": marks["since"]},
        ).scalars()
        found[table] = list(rows)
    return found


def _columns(session: Any, table: str) -> set[str]:
    from sqlalchemy import text

    return set(
        session.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
            {"t": table},
        ).scalars()
    )


def _marks(session: Any) -> dict[str, Any]:
    from sqlalchemy import text

    marks: dict[str, Any] = {"since": session.execute(text("SELECT clock_timestamp()")).scalar()}
    for table in TABLES:
        if "id" in _columns(session, table):
            marks[table] = session.execute(
                text(f"SELECT coalesce(max(id), 0) FROM {table}")
            ).scalar()
    return marks


def _shape(rows: dict[str, list[dict[str, Any]]], *keys: str) -> dict[str, list[dict[str, Any]]]:
    """The rows with what names these events (their ids, their partition keys) made symbolic."""
    names: dict[Any, str] = {key: f"<key:{n}>" for n, key in enumerate(keys)}
    for table in ("asset_event", "asset_partition_dag_run"):
        for n, row in enumerate(rows[table]):
            names[row["id"]] = f"<{table}:{n}>"
    references = {"asset_event_id", "asset_partition_dag_run_id", "created_dag_run_id"}
    shaped: dict[str, list[dict[str, Any]]] = {}
    for table, table_rows in rows.items():
        shaped[table] = [
            {
                column: names.get(value, value)
                if column in references or "partition_key" in column
                else value
                for column, value in row.items()
                if column not in VOLATILE and column != "extra"
            }
            for row in table_rows
        ]
    return shaped


def test_our_per_message_event_leaves_the_rows_airflows_register_asset_change_leaves():
    from airflow.assets.manager import asset_manager
    from airflow.utils.session import create_session

    from openfn_airflow.airflow_db.assets import active_asset, register_partitioned

    uri = trigger_asset_uri(PROJECT, "visits")
    dag_id = dag_id_for(PROJECT, "visit")
    with create_session() as session:
        try:
            asset = active_asset(session, uri)

            before = _marks(session)
            asset_manager.register_asset_change(
                asset=asset, extra={"message_ids": [1]}, partition_key="k-airflow", session=session
            )
            session.flush()
            airflows = _rows_since(session, before)

            before = _marks(session)
            register_partitioned(session, asset, [dag_id], [{"message_ids": [2]}])
            session.flush()
            ours = _rows_since(session, before)
            [our_event] = ours["asset_event"]

            assert airflows["asset_partition_dag_run"], "Airflow queued no partition DAG run"
            assert [r["target_dag_id"] for r in airflows["asset_partition_dag_run"]] == [dag_id]
            assert _shape(ours, our_event["partition_key"]) == _shape(airflows, "k-airflow")
            assert our_event["extra"] == {"message_ids": [2]}
        finally:
            session.rollback()  # neither event stays for a scheduler to act on


def test_our_bulk_of_events_leaves_the_rows_of_as_many_register_asset_change_calls():
    """Several events in one call (a burst, a bulk reprocess): each event's rows as Airflow's."""
    from airflow.assets.manager import asset_manager
    from airflow.utils.session import create_session

    from openfn_airflow.airflow_db.assets import active_asset, register_partitioned

    uri = trigger_asset_uri(PROJECT, "visits")
    dag_id = dag_id_for(PROJECT, "visit")
    keys = ["k-airflow-1", "k-airflow-2", "k-airflow-3"]
    with create_session() as session:
        try:
            asset = active_asset(session, uri)

            before = _marks(session)
            for n, key in enumerate(keys):
                asset_manager.register_asset_change(
                    asset=asset, extra={"message_ids": [n]}, partition_key=key, session=session
                )
                session.flush()
            airflows = _rows_since(session, before)

            before = _marks(session)
            extras = [{"message_ids": [10 + n]} for n in range(len(keys))]
            register_partitioned(session, asset, [dag_id], extras)
            session.flush()
            ours = _rows_since(session, before)
            our_keys = [event["partition_key"] for event in ours["asset_event"]]

            assert len(airflows["asset_partition_dag_run"]) == len(keys)
            assert len(set(our_keys)) == len(keys)
            assert _shape(ours, *our_keys) == _shape(airflows, *keys)
            assert [e["extra"] for e in ours["asset_event"]] == extras
        finally:
            session.rollback()
