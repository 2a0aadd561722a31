"""Rows of Airflow's own tables, written as Airflow leaves them, with a chosen age.

Each ``AirflowRows`` names its DAGs and assets after a fresh tag, so tests sharing the session
database see only their own rows, and ``remove()`` deletes what is left of them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import psycopg

# The default bundle of the DAGs folder: Airflow disables bundles it has no configuration for.
BUNDLE = "dags-folder"


class AirflowRows:
    def __init__(self, db_url: str) -> None:
        self.conn = psycopg.connect(db_url, autocommit=True)
        self.tag = uuid.uuid4().hex[:8]
        self.dag_ids: list[str] = []
        self.asset_ids: list[int] = []
        self.alias_ids: list[int] = []
        self.conn.execute(
            "INSERT INTO dag_bundle (name, active) VALUES (%s, true) ON CONFLICT DO NOTHING",
            [BUNDLE],
        )

    def _one(self, sql: str, params: list[Any]) -> int:
        row = self.conn.execute(sql, params).fetchone()
        assert row is not None
        return row[0]

    def dag(self, name: str) -> str:
        dag_id = f"retention_{self.tag}_{name}"
        self.conn.execute(
            "INSERT INTO dag (dag_id, is_paused, is_stale, bundle_name, timetable_type, "
            "partition_mapper_info, max_active_tasks, max_consecutive_failed_dag_runs, "
            "has_task_concurrency_limits) "
            "VALUES (%s, false, false, %s, 'PartitionedAssetTimetable', '{}', 16, 0, false)",
            [dag_id, BUNDLE],
        )
        self.dag_ids.append(dag_id)
        return dag_id

    def asset(self, name: str) -> int:
        uri = f"openfn://retention-{self.tag}/triggers/{name}"
        asset_id = self._one(
            'INSERT INTO asset (name, uri, "group", extra, created_at, updated_at) '
            "VALUES (%s, %s, 'asset', '{}', now(), now()) RETURNING id",
            [uri, uri],
        )
        self.asset_ids.append(asset_id)
        return asset_id

    def alias(self, name: str) -> int:
        alias_id = self._one(
            "INSERT INTO asset_alias (name, \"group\") VALUES (%s, 'asset') RETURNING id",
            [f"retention-{self.tag}-{name}"],
        )
        self.alias_ids.append(alias_id)
        return alias_id

    def dag_run(
        self, dag_id: str, age: dt.timedelta, *, state: str = "success", run_type: str = "manual"
    ) -> int:
        return self._one(
            "INSERT INTO dag_run (dag_id, run_id, run_type, run_after, state, queued_at, "
            "start_date, end_date) "
            "VALUES (%s, %s, %s, now() - %s, %s, now() - %s, now() - %s, "
            "CASE WHEN %s IN ('success', 'failed') THEN now() - %s END) RETURNING id",
            [dag_id, f"run-{uuid.uuid4().hex}", run_type, age, state, age, age, state, age],
        )

    def event(self, asset_id: int, age: dt.timedelta, partition_key: str | None = None) -> int:
        return self._one(
            "INSERT INTO asset_event (asset_id, extra, timestamp, partition_key) "
            "VALUES (%s, %s, now() - %s, %s) RETURNING id",
            [asset_id, json.dumps({"message_ids": [1]}), age, partition_key],
        )

    def consumed(self, dag_run_id: int, event_id: int) -> None:
        self.conn.execute(
            "INSERT INTO dagrun_asset_event (dag_run_id, event_id) VALUES (%s, %s)",
            [dag_run_id, event_id],
        )

    def aliased(self, alias_id: int, event_id: int) -> None:
        self.conn.execute(
            "INSERT INTO asset_alias_asset_event (alias_id, event_id) VALUES (%s, %s)",
            [alias_id, event_id],
        )

    def partition_run(
        self, dag_id: str, age: dt.timedelta, created_dag_run_id: int | None = None
    ) -> int:
        return self._one(
            "INSERT INTO asset_partition_dag_run (target_dag_id, created_dag_run_id, "
            "partition_key, created_at, updated_at) "
            "VALUES (%s, %s, %s, now() - %s, now() - %s) RETURNING id",
            [dag_id, created_dag_run_id, str(uuid.uuid4()), age, age],
        )

    def key_log(
        self, partition_run_id: int, event_id: int, asset_id: int, dag_id: str, age: dt.timedelta
    ) -> int:
        return self._one(
            "INSERT INTO partitioned_asset_key_log (asset_id, asset_event_id, "
            "asset_partition_dag_run_id, source_partition_key, target_dag_id, "
            "target_partition_key, created_at) "
            "VALUES (%s, %s, %s, 'k', %s, 'k', now() - %s) RETURNING id",
            [asset_id, event_id, partition_run_id, dag_id, age],
        )

    def queue(self, asset_id: int, dag_id: str, age: dt.timedelta) -> None:
        self.conn.execute(
            "INSERT INTO asset_dag_run_queue (asset_id, target_dag_id, created_at) "
            "VALUES (%s, %s, now() - %s)",
            [asset_id, dag_id, age],
        )

    def log_row(self, age: dt.timedelta) -> int:
        return self._one(
            "INSERT INTO log (dttm, dag_id, event) VALUES (now() - %s, %s, 'retention-test') "
            "RETURNING id",
            [age, f"retention_{self.tag}"],
        )

    def exists(self, table: str, row_id: int, column: str = "id") -> bool:
        return (
            self.conn.execute(f"SELECT 1 FROM {table} WHERE {column} = %s", [row_id]).fetchone()
            is not None
        )

    def link_exists(self, dag_run_id: int, event_id: int) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM dagrun_asset_event WHERE dag_run_id = %s AND event_id = %s",
                [dag_run_id, event_id],
            ).fetchone()
            is not None
        )

    def remove(self) -> None:
        """Delete whatever is left of this test's rows."""
        runs = "SELECT id FROM dag_run WHERE dag_id = ANY(%(dags)s)"
        for statement in (
            "DELETE FROM partitioned_asset_key_log WHERE target_dag_id = ANY(%(dags)s)",
            "DELETE FROM asset_partition_dag_run WHERE target_dag_id = ANY(%(dags)s)",
            f"DELETE FROM dagrun_asset_event WHERE dag_run_id IN ({runs})",
            "DELETE FROM asset_event WHERE asset_id = ANY(%(assets)s)",
            "DELETE FROM dag_run WHERE dag_id = ANY(%(dags)s)",
            "DELETE FROM asset_dag_run_queue WHERE asset_id = ANY(%(assets)s)",
            "DELETE FROM asset WHERE id = ANY(%(assets)s)",
            "DELETE FROM asset_alias WHERE id = ANY(%(aliases)s)",
            "DELETE FROM dag WHERE dag_id = ANY(%(dags)s)",
            "DELETE FROM log WHERE dag_id = %(log_dag)s",
        ):
            self.conn.execute(
                statement,
                {
                    "dags": self.dag_ids,
                    "assets": self.asset_ids,
                    "aliases": self.alias_ids,
                    "log_dag": f"retention_{self.tag}",
                },
            )
        self.conn.close()
