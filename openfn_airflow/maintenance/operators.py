"""The tasks of the maintenance DAG. Each logs what it deleted per table and returns the counts
(its XCom); each can run again at any time: what is gone stays gone, nothing else is touched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator

from openfn_airflow.maintenance import settings
from openfn_airflow.maintenance.activity import BATCH_SIZE, Kind, purge_expired
from openfn_airflow.store import retention
from openfn_airflow.store.database import connect

DAY_SECONDS = 86400.0


class PurgeActivityOperator(BaseOperator):
    """Delete each project's messages (or runs) past its retention period."""

    ui_color = "#fdecea"
    template_fields: Sequence[str] = ()

    def __init__(
        self,
        *,
        kind: Kind,
        periods: Mapping[str, float | None],
        batch_size: int = BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.periods = dict(periods)
        self.batch_size = batch_size

    def execute(self, context: Any) -> dict[str, dict[str, int]]:
        return purge_expired(self.kind, self.periods, batch_size=self.batch_size, logger=self.log)


class _AirflowHistoryOperator(BaseOperator):
    """A task that trims Airflow's own tables, given the longest project retention period."""

    ui_color = "#eef3fb"
    template_fields: Sequence[str] = ()

    def __init__(
        self,
        *,
        longest_retention_days: float | None,
        batch_size: int = BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.longest_retention_days = longest_retention_days
        self.batch_size = batch_size


class CleanAirflowTablesOperator(_AirflowHistoryOperator):
    """Delete Airflow's history past ``[openfn] airflow_retention_days`` (``airflow db clean``)."""

    def execute(self, context: Any) -> dict[str, int]:
        from openfn_airflow.airflow_db.cleanup import clean_airflow_tables

        days = settings.airflow_retention_days(self.longest_retention_days)
        if days is None:
            self.log.info("[openfn] airflow_retention_days is off: Airflow's tables are kept")
            return {}
        return clean_airflow_tables(
            cutoff_days_ago(days), batch_size=self.batch_size, logger=self.log
        )


class CleanAssetTablesOperator(_AirflowHistoryOperator):
    """Delete consumed partition rows and asset events nothing waits on any more."""

    def execute(self, context: Any) -> dict[str, int]:
        from openfn_airflow.maintenance.asset_tables import clean_asset_tables

        days = settings.airflow_retention_days(self.longest_retention_days)
        # Partition rows are bookkeeping: never kept longer than the rest of Airflow's history.
        partition_days = settings.partition_history_days()
        if days is not None:
            partition_days = min(partition_days, days)
        return clean_asset_tables(
            events_before=None if days is None else cutoff_days_ago(days),
            partitions_before=cutoff_days_ago(partition_days),
            batch_size=self.batch_size,
            logger=self.log,
        )


def cutoff_days_ago(days: float):
    """The database's now() minus ``days``."""
    with connect() as conn:
        return retention.cutoff(conn, days * DAY_SECONDS)
