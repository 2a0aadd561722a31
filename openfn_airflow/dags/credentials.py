"""Turn an Airflow Connection into the OpenFn credential a job sees as ``state["configuration"]``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


def configuration_from_connection(conn: Any) -> dict[str, Any]:
    """Map a Connection's fields onto the keys OpenFn adaptors read.

    ``host`` (with ``schema`` as the URL scheme when the host has none, and ``port``) becomes
    ``baseUrl``; ``login``/``password`` become ``username``/``password``; every key of the
    connection's JSON ``extra`` is copied as is, so ``access_token`` or adaptor-specific keys
    can live there. Keys the connection leaves empty are left out.
    """
    configuration: dict[str, Any] = {}
    host = (conn.host or "").strip()
    if host:
        if "://" not in host:
            scheme = (conn.schema or "https").strip() or "https"
            host = f"{scheme}://{host}"
        parts = urlsplit(host)
        if conn.port and parts.port is None:
            host = urlunsplit(parts._replace(netloc=f"{parts.netloc}:{conn.port}"))
        configuration["baseUrl"] = host
    if conn.login:
        configuration["username"] = conn.login
    if conn.password:
        configuration["password"] = conn.password
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    if isinstance(extra, dict):
        configuration.update(extra)
    return configuration


def load_configuration(conn_id: str | None) -> dict[str, Any] | None:
    """Fetch the connection named in the spec (through Airflow's secrets backends)."""
    if not conn_id:
        return None
    from airflow.sdk import Connection

    return configuration_from_connection(Connection.get(conn_id))
