"""The ``[openfn]`` options of the maintenance DAG, read when its tasks run."""

from __future__ import annotations

#: Days of Airflow's own history kept when neither the option nor a longer project period says.
DEFAULT_AIRFLOW_RETENTION_DAYS = 30.0
#: Days a consumed partition row (asset_partition_dag_run) is kept after it was queued.
DEFAULT_PARTITION_HISTORY_DAYS = 1.0
_OFF = ("off", "never", "forever")


def airflow_retention_days(longest_project_days: float | None) -> float | None:
    """Days of Airflow's history (DAG runs, task instances, logs, XComs, asset events) to keep.

    ``[openfn] airflow_retention_days`` when set (``off``: leave them alone); otherwise the
    longest retention period of any project, and at least 30 days, so a kept OpenFn run keeps
    its DAG run. Raises ValueError naming the option for anything else.
    """
    from airflow.configuration import conf

    raw = conf.get("openfn", "airflow_retention_days", fallback="").strip()
    if not raw:
        return max(DEFAULT_AIRFLOW_RETENTION_DAYS, longest_project_days or 0.0)
    if raw.lower() in _OFF:
        return None
    return _positive_days(raw, "airflow_retention_days")


def partition_history_days() -> float:
    """``[openfn] partition_history_days``: how long consumed partition rows are kept (default 1)."""
    from airflow.configuration import conf

    raw = conf.get("openfn", "partition_history_days", fallback="").strip()
    return _positive_days(raw, "partition_history_days") if raw else DEFAULT_PARTITION_HISTORY_DAYS


def _positive_days(raw: str, option: str) -> float:
    try:
        days = float(raw)
    except ValueError:
        days = -1.0
    if not days > 0 or days == float("inf"):
        raise ValueError(
            f"[openfn] {option} must be a number of days greater than 0"
            + (" or off" if option == "airflow_retention_days" else "")
            + f", got {raw!r}"
        )
    return days
