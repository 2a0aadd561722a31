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


def adaptors_path() -> str:
    """``[openfn] adaptors_path``: the adaptors repository; default ``$AIRFLOW_HOME/openfn/adaptors``."""
    from airflow.configuration import AIRFLOW_HOME, conf

    configured = conf.get("openfn", "adaptors_path", fallback="").strip()
    if configured:
        return os.path.expanduser(configured)
    return str(Path(AIRFLOW_HOME) / "openfn" / "adaptors")
