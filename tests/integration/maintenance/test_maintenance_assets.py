"""Airflow's asset tables are pruned of consumed history and keep what a DAG still waits on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from airflow_rows import AirflowRows

from openfn_airflow.maintenance.asset_tables import clean_asset_tables
from openfn_airflow.maintenance.operators import cutoff_days_ago

pytestmark = pytest.mark.integration

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def rows(db_url: str) -> Iterator[AirflowRows]:
    made = AirflowRows(db_url)
    yield made
    made.remove()


def clean(db_url: str, batch_size: int = 2, events: bool = True) -> dict[str, int]:
    return clean_asset_tables(
        events_before=cutoff_days_ago(30) if events else None,
        partitions_before=cutoff_days_ago(1),
        batch_size=batch_size,
        url=db_url,
    )


def consumed_partition(rows: AirflowRows, dag_id: str, asset_id: int, age: dt.timedelta):
    """What a per-message event leaves once its DAG run exists: run, event, APDR, key log, link."""
    run = rows.dag_run(dag_id, age)
    event = rows.event(asset_id, age, partition_key="k")
    apdr = rows.partition_run(dag_id, age, created_dag_run_id=run)
    key_log = rows.key_log(apdr, event, asset_id, dag_id, age)
    rows.consumed(run, event)
    return run, event, apdr, key_log


def test_consumed_partition_rows_go_after_a_day_and_recent_ones_stay(db_url, rows):
    dag_id, asset = rows.dag("job"), rows.asset("form")
    old = [consumed_partition(rows, dag_id, asset, 3 * DAY) for _ in range(5)]
    recent = consumed_partition(rows, dag_id, asset, 2 * HOUR)

    counts = clean(db_url)

    for run, event, apdr, key_log in old:
        assert not rows.exists("asset_partition_dag_run", apdr)
        assert not rows.exists("partitioned_asset_key_log", key_log)
        # the DAG run and what it consumed are Airflow's history: kept for 30 days
        assert rows.exists("dag_run", run) and rows.exists("asset_event", event)
        assert rows.link_exists(run, event)
    run, event, apdr, key_log = recent
    assert rows.exists("asset_partition_dag_run", apdr)
    assert rows.exists("partitioned_asset_key_log", key_log)
    assert counts["asset_partition_dag_run"] >= 5 and counts["partitioned_asset_key_log"] >= 5


def test_pending_partition_rows_and_their_events_stay_however_old(db_url, rows):
    dag_id, asset = rows.dag("job"), rows.asset("form")
    event = rows.event(asset, 60 * DAY, partition_key="waiting")
    apdr = rows.partition_run(dag_id, 60 * DAY)  # no DAG run yet: the scheduler will make it
    key_log = rows.key_log(apdr, event, asset, dag_id, 60 * DAY)

    clean(db_url)

    assert rows.exists("asset_partition_dag_run", apdr)
    assert rows.exists("partitioned_asset_key_log", key_log)
    assert rows.exists("asset_event", event)


def test_old_events_go_with_their_links_and_recent_ones_stay(db_url, rows):
    dag_id, asset, alias = rows.dag("job"), rows.asset("form"), rows.alias("a")
    consumed = [consumed_partition(rows, dag_id, asset, 60 * DAY) for _ in range(3)]
    unheard = rows.event(asset, 45 * DAY)  # no DAG listened: nobody will ever consume it
    aliased = rows.event(asset, 45 * DAY)
    rows.aliased(alias, aliased)
    recent_run, recent_event, _, _ = consumed_partition(rows, dag_id, asset, 10 * DAY)

    counts = clean(db_url)

    for run, event, apdr, key_log in consumed:
        assert not rows.exists("asset_event", event)
        assert not rows.link_exists(run, event)
        assert not rows.exists("asset_partition_dag_run", apdr)
        assert not rows.exists("partitioned_asset_key_log", key_log)
    assert not rows.exists("asset_event", unheard)
    assert not rows.exists("asset_event", aliased)
    assert not rows.exists("asset_alias_asset_event", aliased, column="event_id")
    assert rows.exists("asset_event", recent_event) and rows.link_exists(recent_run, recent_event)
    assert counts["asset_event"] >= 5
    assert counts["dagrun_asset_event"] >= 3 and counts["asset_alias_asset_event"] >= 1


def test_events_a_dag_has_yet_to_consume_stay(db_url, rows):
    dag_id, queued_asset, asset = rows.dag("batched"), rows.asset("queued"), rows.asset("form")
    # A plain-asset DAG waits on every event since its queue row (the first event after its
    # last run); an older event of the same asset was consumed or dropped long ago.
    rows.queue(queued_asset, dag_id, 70 * DAY)
    before_queue = rows.event(queued_asset, 80 * DAY)
    waited_on = rows.event(queued_asset, 60 * DAY)
    # A DAG run created from an event but not finished: its tasks read the event.
    running = rows.dag_run(dag_id, 40 * DAY, state="running")
    in_use = rows.event(asset, 45 * DAY)
    rows.consumed(running, in_use)

    clean(db_url)

    assert not rows.exists("asset_event", before_queue)
    assert rows.exists("asset_event", waited_on)
    assert rows.exists("asset_event", in_use) and rows.link_exists(running, in_use)


def test_key_log_rows_whose_partition_run_is_gone_go(db_url, rows):
    dag_id, asset = rows.dag("job"), rows.asset("form")
    run, event, apdr, key_log = consumed_partition(rows, dag_id, asset, 3 * HOUR)
    # what deleting the DAG run does (airflow db clean): the APDR cascades, the key log stays
    rows.conn.execute("DELETE FROM dag_run WHERE id = %s", [run])
    assert not rows.exists("asset_partition_dag_run", apdr)
    rows.conn.execute(
        "UPDATE partitioned_asset_key_log SET created_at = now() - interval '2 days' WHERE id = %s",
        [key_log],
    )

    clean(db_url)

    assert not rows.exists("partitioned_asset_key_log", key_log)
    assert rows.exists("asset_event", event)  # 3 hours old


def test_with_airflow_retention_off_events_stay_and_partition_rows_still_go(db_url, rows):
    dag_id, asset = rows.dag("job"), rows.asset("form")
    run, event, apdr, _ = consumed_partition(rows, dag_id, asset, 60 * DAY)

    counts = clean(db_url, events=False)

    assert not rows.exists("asset_partition_dag_run", apdr)
    assert rows.exists("asset_event", event) and rows.link_exists(run, event)
    assert counts["asset_event"] == 0


def test_running_it_again_deletes_nothing_more(db_url, rows):
    dag_id, asset = rows.dag("job"), rows.asset("form")
    for _ in range(3):
        consumed_partition(rows, dag_id, asset, 60 * DAY)
    kept = consumed_partition(rows, dag_id, asset, 2 * HOUR)

    clean(db_url)
    again = clean(db_url)

    assert set(again.values()) == {0}
    assert all(
        rows.exists(table, row_id)
        for table, row_id in (
            ("dag_run", kept[0]),
            ("asset_event", kept[1]),
            ("asset_partition_dag_run", kept[2]),
            ("partitioned_asset_key_log", kept[3]),
        )
    )


def test_a_table_that_lost_many_rows_is_vacuumed_at_once(db_url, rows):
    dag_id, asset = rows.dag("job"), rows.asset("form")
    for _ in range(3):
        consumed_partition(rows, dag_id, asset, 3 * DAY)
    before = rows.conn.execute(
        "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'asset_partition_dag_run'"
    ).fetchone()[0]

    clean_asset_tables(
        events_before=cutoff_days_ago(30),
        partitions_before=cutoff_days_ago(1),
        batch_size=2,
        vacuum_after=3,
        url=db_url,
    )

    after = rows.conn.execute(
        "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'asset_partition_dag_run'"
    ).fetchone()[0]
    assert after == before + 1
