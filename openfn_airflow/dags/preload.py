"""A job task's modules, imported once in the Airflow process that forks the task processes.

On Linux a task process is a bare ``os.fork`` of its worker (Airflow's ``supervise``), and the
LocalExecutor's workers are forked from the scheduler (``multiprocessing`` with ``fork``, after a
``gc.freeze``): a task process starts with whatever the scheduler had imported. Airflow's own
task runner is there already; ours was not, so every per-message task process imported psycopg,
our DAG modules and the SQL blocks, and loaded every provider's asset URI handlers at the first
``Asset()``, before it built its one DAG: about 145 ms of CPU a task here against 28 ms with
them preloaded (``bench/runtime.py`` and ``bench/diagnosis.py``).

``TaskModulesPreload`` is a listener of the plugin: at ``on_starting`` of an Airflow job process
(the scheduler; the dag-processor and the triggerer too, whose parse processes are forked the
same way) it imports them, unless ``[openfn] preload_task_modules`` is off. Nothing is connected
or built: only imports and caches of constant data, which a fork shares safely. A Celery worker
is not an Airflow job process: its task processes import them themselves, as before.
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any

from airflow.listeners import hookimpl

#: What a job's task process imports to build its DAG and run the operator.
TASK_MODULES = (
    "psycopg",
    "psycopg.rows",
    "psycopg.types.json",
    "openfn_airflow.dags.loader",
    "openfn_airflow.dags.factory",
    "openfn_airflow.dags.operators",
    "openfn_airflow.tasks",
    "openfn_airflow.runtime",
    "openfn_airflow.store.runs",
)

log = logging.getLogger(__name__)


def preload_task_modules() -> float:
    """Import ``TASK_MODULES``, load the SQL blocks and the asset URI handlers; return ms."""
    started = time.perf_counter()
    for name in TASK_MODULES:
        importlib.import_module(name)
    from airflow.sdk import Asset

    from openfn_airflow.store.queries import query

    query("start_run")  # reads and splits every SQL file once (cached)
    Asset("openfn://preload/triggers/preload")  # the first Asset() loads the URI handlers
    return (time.perf_counter() - started) * 1000


def enabled() -> bool:
    from airflow.configuration import conf

    return conf.getboolean("openfn", "preload_task_modules", fallback=True)


class TaskModulesPreload:
    """The plugin's listener: ``preload_task_modules`` when an Airflow job process starts."""

    @hookimpl
    def on_starting(self, component: Any) -> None:
        if type(component).__name__ != "Job" or not enabled():
            return  # a task process (TaskRunnerMarker) has imported what it needs by now
        try:
            ms = preload_task_modules()
        except Exception:  # a slower task start, never a process that does not start
            log.exception("Could not preload the job task's modules")
            return
        log.info("Preloaded the job task's modules for forked task processes in %.0f ms", ms)
