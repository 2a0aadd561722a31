"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point.

Airflow imports this module while it discovers providers, so it must stay free of imports and work.
"""

from __future__ import annotations

from typing import Any

_VERSION = "0.1.0"


def _option(
    description: str, type_: str, default: str, example: str | None = None
) -> dict[str, Any]:
    return {
        "description": description,
        "version_added": _VERSION,
        "type": type_,
        "example": example,
        "default": default,
    }


def get_provider_info() -> dict[str, Any]:
    """Describe openfn-airflow to Airflow's ProvidersManager: its DB manager and ``[openfn]`` options."""
    return {
        "package-name": "openfn-airflow",
        "name": "OpenFn",
        "description": "OpenFn's integration platform (inbox, triggers, jobs, activity history) "
        "on Apache Airflow.",
        "versions": [_VERSION],
        "db-managers": ["openfn_airflow.store.db_manager.OpenFnDBManager"],
        "config": {
            "openfn": {
                "description": "OpenFn inbox, dispatcher and job runtime.\n",
                "options": {
                    "database_url": _option(
                        "PostgreSQL URL (libpq / psycopg form) of the database holding the "
                        "openfn_* tables. Empty: use Airflow's [database] sql_alchemy_conn.\n",
                        "string",
                        "",
                        "postgresql://airflow:airflow@postgres:5432/airflow",
                    ),
                    "inbox_max_body_bytes": _option(
                        "Largest request body the inbox accepts (a multipart request's files "
                        "included), also once decompressed and as the JSON it becomes once "
                        "parsed; bigger ones get 413.\n",
                        "integer",
                        "8388608",
                        "1048576",
                    ),
                    "inbox_auth_failures_per_minute": _option(
                        "Wrong credentials an inbox takes from one client address in a minute;\n"
                        "past them it answers 429 with Retry-After (and checks no password) until\n"
                        "the minute is over. Counted in the database, so it holds across\n"
                        "api-servers. 0: no limit.\n",
                        "integer",
                        "20",
                        "50",
                    ),
                    "job_timeout": _option(
                        "Seconds a job may run when its spec sets no timeout (exit code 2).\n",
                        "integer",
                        "300",
                        "100",
                    ),
                    "job_memory_limit": _option(
                        "Megabytes of memory a job may take beyond what its task process held\n"
                        "when it started; past it the run is killed (exit 134). 0: no limit.\n",
                        "integer",
                        "1024",
                        "512",
                    ),
                    "cursor_max_bytes": _option(
                        "Bytes a cron job's final state may have, without references (never\n"
                        "carried) and as compact JSON, to be its next run's initial state (the\n"
                        "cursor). A bigger one fails its run (exit 1) with a log line saying by how\n"
                        "much; the next run starts from the last successful run's state.\n",
                        "integer",
                        "50000",
                        "200000",
                    ),
                    "auto_threshold": _option(
                        "DAG runs of a `runs: auto` job that may wait to start (queued in\n"
                        "Airflow, or their task not started), and its runs that may be running\n"
                        "or made in the last 2 seconds, before the job's next messages wait in\n"
                        "its queue and share one DAG run.\n"
                        "0: twice [core] parallelism.\n",
                        "integer",
                        "0",
                        "4",
                    ),
                    "preload_task_modules": _option(
                        "Import a job task's modules (psycopg, the DAG modules, the SQL) once\n"
                        "when the scheduler, the dag-processor or the triggerer starts, so each\n"
                        "task process forked from it (LocalExecutor) starts with them.\n",
                        "boolean",
                        "True",
                        "False",
                    ),
                    "auto_batch_max": _option(
                        "Messages one DAG run of a `runs: auto` job takes from its queue at most\n"
                        "(each its own OpenFn run, with its own log and exit code).\n",
                        "integer",
                        "500",
                        "1000",
                    ),
                    "adaptors_path": _option(
                        "Folder holding the OpenFn adaptors JavaScript jobs run on, one\n"
                        "name_version alias each (filled by `openfn-airflow adaptors install`\n"
                        "and, on first use, by the dag-processor). Empty:\n"
                        "$AIRFLOW_HOME/openfn/adaptors.\n",
                        "string",
                        "",
                        "/opt/openfn/adaptors",
                    ),
                    "database_wait": _option(
                        "Seconds a job task waits for the ledger's database to come back (a\n"
                        "restart, a failover) before it fails; a run that finished meanwhile is\n"
                        "saved, with its outcome and final state, once it is back.\n",
                        "float",
                        "120",
                        "300",
                    ),
                    "airflow_retention_days": _option(
                        "Days of Airflow's own history (DAG runs, task instances, logs, XCom,\n"
                        "jobs) the maintenance DAG keeps; empty: the longest project period and\n"
                        "at least 30; off: leave Airflow's tables alone.\n",
                        "string",
                        "",
                        "90",
                    ),
                    "partition_history_days": _option(
                        "Days consumed asset partition rows are kept (they slow every new\n"
                        "partitioned event once they number a million).\n",
                        "float",
                        "1",
                        "7",
                    ),
                    "dispatch_batch_size": _option(
                        "Outbox rows the dispatcher turns into asset events per transaction.\n",
                        "integer",
                        "500",
                        "100",
                    ),
                    "dispatch_poll_interval": _option(
                        "Seconds between dispatcher polls when no NOTIFY wakes it.\n",
                        "float",
                        "1.0",
                        "0.5",
                    ),
                    "dispatch_coalesce": _option(
                        "Seconds the dispatcher waits after a NOTIFY so that a burst of messages\n"
                        "is dispatched in one batch (0: dispatch each at once).\n",
                        "float",
                        "0.05",
                        "0.1",
                    ),
                    "canary": _option(
                        "Build the built-in openfn-canary project (its send job POSTs a message\n"
                        "to its own inbox every 5 minutes, its receive job runs on it) and report\n"
                        "its round trip at GET /openfn/health. Every Airflow component must see\n"
                        "the same value.\n",
                        "boolean",
                        "False",
                        "True",
                    ),
                    "canary_url": _option(
                        "Base URL the canary's send job POSTs to (the inbox is <url>/openfn/inbox/\n"
                        "<id>). Empty: [api] base_url. Set it where workers cannot reach the\n"
                        "public address.\n",
                        "string",
                        "",
                        "http://api-proxy:8080",
                    ),
                    "github_webhook_conn_id": _option(
                        "Airflow connection holding the secret of the GitHub push webhook\n"
                        "(POST /openfn/github/webhook) in its password. Without that connection\n"
                        "the webhook answers 404.\n",
                        "string",
                        "openfn_github_webhook",
                        "github_webhook",
                    ),
                },
            }
        },
    }
