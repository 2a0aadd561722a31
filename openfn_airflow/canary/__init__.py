"""The canary: a built-in project whose round trip through the inbox, the dispatcher, the
scheduler and a run says the whole pipeline works (``GET /openfn/health``).

When ``[openfn] canary`` is on, the DAGs folder's ``openfn_jobs.py`` also builds the project
shipped in ``project/`` (``openfn-canary``): every five minutes its ``send`` job POSTs a small
message to the project's own inbox over HTTP, and its ``receive`` job runs on that message.
The inbox registry, the Jobs screen and retention see it like any project of the DAGs folder.
Off (the default), none of it exists.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = "openfn-canary"
SEND_JOB = "send"
RECEIVE_JOB = "receive"
JOBS = (SEND_JOB, RECEIVE_JOB)
TRIGGER = "canary-message"
#: The send job's cron (``*/5 * * * *`` in project/project.yaml).
INTERVAL_SECONDS = 300
#: A round trip older than two intervals and this much is late: one missed tick is tolerated.
SLACK_SECONDS = 60


def late_after_seconds() -> int:
    """Seconds after the last round trip (or the canary's start) when the canary is late."""
    return 2 * INTERVAL_SECONDS + SLACK_SECONDS


def project_folder() -> Path:
    """The folder of the canary's ``project.yaml``, inside the package."""
    return Path(__file__).resolve().parent / "project"


def enabled() -> bool:
    """``[openfn] canary``: build the canary project and report its round trip."""
    from airflow.configuration import conf

    return conf.getboolean("openfn", "canary", fallback=False)


def inbox_base_url() -> str:
    """``[openfn] canary_url``, else the api-server's public URL: where the send job POSTs."""
    from airflow.configuration import conf

    from openfn_airflow.inbox import settings

    configured = (conf.get("openfn", "canary_url", fallback="") or "").strip().rstrip("/")
    return configured or settings.base_url()


def folders_for(folder: str | Path) -> list[Path]:
    """The canary's folder when it is on and ``folder`` is ``[core] dags_folder``, else none.

    Only the DAGs folder builds it, so that a git bundle holding its own ``openfn_jobs.py``
    does not define the same DAGs a second time.
    """
    if not enabled():
        return []
    from airflow.configuration import conf

    dags_folder = conf.get("core", "dags_folder", fallback="") or ""
    if not dags_folder or Path(folder).resolve() != Path(dags_folder).resolve():
        return []
    return [project_folder()]
