"""The inbox's settings, read from Airflow's configuration when asked (never at import)."""

from __future__ import annotations

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_GITHUB_WEBHOOK_CONN_ID = "openfn_github_webhook"
# ODK Collect fills a request up to the size the OpenRosa HEAD answer allows, counting only its
# files: the multipart framing of up to 100 files a request needs room of its own.
OPENROSA_FRAMING_BYTES = 64 * 1024


def max_body_bytes() -> int:
    """``[openfn] inbox_max_body_bytes``: the largest body (also once decompressed, and as JSON)."""
    from airflow.configuration import conf

    return conf.getint("openfn", "inbox_max_body_bytes", fallback=DEFAULT_MAX_BODY_BYTES)


def openrosa_accept_bytes() -> int:
    """What ``X-OpenRosa-Accept-Content-Length`` tells ODK Collect: the body limit less room for
    the multipart framing (an eighth of the limit when that is smaller), so that a submission
    ODK splits into requests of that size passes the limit."""
    limit = max_body_bytes()
    return max(1, limit - min(OPENROSA_FRAMING_BYTES, limit // 8))


def auth_failures_per_minute() -> int:
    """``[openfn] inbox_auth_failures_per_minute``: wrong logins per inbox and client address
    in a minute before the inbox answers 429 (0: no limit)."""
    from airflow.configuration import conf

    return max(0, conf.getint("openfn", "inbox_auth_failures_per_minute", fallback=20))


def dispatch_batch_size() -> int:
    """``[openfn] dispatch_batch_size``: outbox rows per dispatcher transaction."""
    from airflow.configuration import conf

    return max(1, conf.getint("openfn", "dispatch_batch_size", fallback=500))


def dispatch_poll_interval() -> float:
    """``[openfn] dispatch_poll_interval``: seconds between polls when no NOTIFY arrives."""
    from airflow.configuration import conf

    return max(0.05, conf.getfloat("openfn", "dispatch_poll_interval", fallback=1.0))


def dispatch_coalesce() -> float:
    """``[openfn] dispatch_coalesce``: seconds to let a burst gather after a NOTIFY (0-5)."""
    from airflow.configuration import conf

    return min(5.0, max(0.0, conf.getfloat("openfn", "dispatch_coalesce", fallback=0.05)))


def github_webhook_conn_id() -> str:
    """``[openfn] github_webhook_conn_id``: the connection whose password is the webhook secret."""
    from airflow.configuration import conf

    configured = conf.get("openfn", "github_webhook_conn_id", fallback="") or ""
    return configured.strip() or DEFAULT_GITHUB_WEBHOOK_CONN_ID


def dags_folder() -> str:
    """``[core] dags_folder``: where the project specs are."""
    from airflow.configuration import conf

    return conf.get("core", "dags_folder")


def base_url() -> str:
    """The api-server's public URL (``[api] base_url``, else localhost on ``[api] port``)."""
    from airflow.configuration import conf

    configured = (conf.get("api", "base_url", fallback="") or "").strip().rstrip("/")
    if configured:
        return configured
    return f"http://localhost:{conf.getint('api', 'port', fallback=8080)}"


def inbox_url(inbox_id: str) -> str:
    """The URL external systems POST messages to."""
    return f"{base_url()}/openfn/inbox/{inbox_id}"
