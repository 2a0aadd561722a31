"""The ``[openfn]`` options a job task reads, each through one small function (read when asked)."""

from __future__ import annotations

import os
from pathlib import Path


def job_memory_limit() -> int:
    """``[openfn] job_memory_limit``: MB a job may take beyond its task process (0: none)."""
    from airflow.configuration import conf

    return max(0, conf.getint("openfn", "job_memory_limit", fallback=1024))


def database_wait() -> float:
    """``[openfn] database_wait``: seconds a job task waits for the ledger's database to come
    back (a restart, a failover) before it fails."""
    from airflow.configuration import conf

    return max(0.0, conf.getfloat("openfn", "database_wait", fallback=120.0))


def cursor_max_bytes() -> int:
    """``[openfn] cursor_max_bytes``: bytes a cron run's final state may have to be carried."""
    from airflow.configuration import conf

    from openfn_airflow.tasks.cursors import DEFAULT_CURSOR_MAX_BYTES

    value = conf.getint("openfn", "cursor_max_bytes", fallback=DEFAULT_CURSOR_MAX_BYTES)
    if value < 1:
        raise ValueError(
            f"[openfn] cursor_max_bytes is {value}: set it to a number of bytes, at least 1 "
            f"(default {DEFAULT_CURSOR_MAX_BYTES})"
        )
    return value


def adaptors_path() -> str:
    """``[openfn] adaptors_path``: the adaptors repository; default ``$AIRFLOW_HOME/openfn/adaptors``."""
    from airflow.configuration import AIRFLOW_HOME, conf

    configured = conf.get("openfn", "adaptors_path", fallback="").strip()
    if configured:
        return os.path.expanduser(configured)
    return str(Path(AIRFLOW_HOME) / "openfn" / "adaptors")


#: Messages one DAG run of an ``auto`` job takes from its queue at most.
DEFAULT_AUTO_BATCH_MAX = 500


def auto_batch_max() -> int:
    """``[openfn] auto_batch_max``: messages one DAG run of an ``auto`` job runs at most."""
    from airflow.configuration import conf

    return max(1, conf.getint("openfn", "auto_batch_max", fallback=DEFAULT_AUTO_BATCH_MAX))


def auto_threshold() -> int:
    """``[openfn] auto_threshold``: DAG runs of an ``auto`` job that may wait to start before
    its next messages share one DAG run; 0 (the default): twice the executor's capacity,
    Airflow's ``[core] parallelism``. A few DAG runs always wait while their tasks start (about
    2 s each on 2 cores), so at 1 message a second a threshold of the slots alone batched some
    messages; a burst is caught by the job's running runs as well (``_queue_when_busy``)."""
    from airflow.configuration import conf

    value = conf.getint("openfn", "auto_threshold", fallback=0)
    if value > 0:
        return value
    return max(1, 2 * conf.getint("core", "parallelism", fallback=32))
