"""The baseline of bench/runtime.py: a plain partitioned-asset DAG doing the bench job's work.

One DAG run per event (each carries a fresh UUID partition key); its one task reads the
triggering events' extras and adds a key to a dict, like bench/project/jobs/mark.py.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Asset, PartitionedAssetTimetable, task

PLAIN = Asset("bench://plain")

with DAG(
    dag_id="plain_partitioned",
    schedule=PartitionedAssetTimetable(assets=PLAIN),
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    is_paused_upon_creation=False,
    default_args={"retries": 0},
):

    @task
    def work(**context):
        events = context["triggering_asset_events"]
        extras = [dict(event.extra or {}) for asset in events for event in events[asset]]
        state = {"data": extras[0] if extras else {}, "references": []}
        return {**state, "seen": True}["seen"]

    work()
