"""The plugin inside Airflow's api-server: mounted once, built lazily, docs off, errors by id."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from plugin_helpers import API

pytestmark = pytest.mark.integration


def test_importing_the_declaration_builds_nothing():
    code = (
        "import sys\n"
        "from openfn_airflow.plugin.declaration import OpenFnPlugin\n"
        "heavy = [m for m in ('fastapi', 'openfn_airflow.plugin.app', 'psycopg') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_plugin_is_registered_once_and_mounted_at_openfn(airflow_app):
    from airflow import plugins_manager
    from fastapi import FastAPI
    from starlette.routing import Mount

    plugins = [p for p in plugins_manager._get_plugins()[0] if p.name == "openfn"]
    assert len(plugins) == 1
    mounts = [r for r in airflow_app.routes if isinstance(r, Mount) and r.path == "/openfn"]
    assert len(mounts) == 1 and isinstance(mounts[0].app, FastAPI)


def test_the_sub_app_publishes_no_docs(anonymous, viewer):
    for path in ("/openfn/docs", "/openfn/redoc", "/openfn/openapi.json"):
        assert anonymous.get(path).status_code == 404, path
    assert anonymous.get(f"{API}/openapi.json").status_code == 401
    schema = viewer.get(f"{API}/openapi.json").json()
    assert "/api/v1/messages" in schema["paths"]


def test_an_unexpected_error_answers_only_an_id(viewer, caplog, monkeypatch):
    from openfn_airflow.store import run_search

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(run_search, "search_runs", broken)
    with caplog.at_level(logging.ERROR):
        answer = viewer.get(f"{API}/runs")
    assert answer.status_code == 500
    body = answer.json()
    assert set(body) == {"error", "id"} and body["error"] == "internal_error"
    assert "secret internals" not in answer.text
    logged = [r for r in caplog.records if body["id"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_a_database_that_is_down_answers_503_with_retry_after(viewer, monkeypatch):
    from plugin_helpers import unreachable_database_url

    monkeypatch.setenv("AIRFLOW__OPENFN__DATABASE_URL", unreachable_database_url())
    answer = viewer.get(f"{API}/messages")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert answer.json()["error"] == "database_unavailable"


def test_the_dispatcher_runs_while_the_api_server_does(airflow_app, clean_db):
    import threading

    from fastapi.testclient import TestClient

    def dispatchers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "openfn-dispatcher" and t.is_alive()]

    assert dispatchers() == []
    with TestClient(airflow_app):  # runs Airflow's lifespan, which enters the plugin app's
        assert len(dispatchers()) == 1
    assert dispatchers() == []


def _drop_the_servers_connections(db_url: str) -> int:
    """What a PostgreSQL restart or failover does to the api-server's idle connections."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_requests_after_the_database_dropped_its_connections_are_answered(viewer, db_url):
    """The pools lend only live connections: a restarted PostgreSQL costs no 503 afterwards."""
    for _ in range(3):  # connections in the pool, idle
        assert viewer.get(f"{API}/messages").status_code == 200
    assert _drop_the_servers_connections(db_url) > 0
    answers = [viewer.get(f"{API}/messages").status_code for _ in range(3)]
    assert answers == [200, 200, 200]
