"""The JSON API under the FAB auth manager, as production deployments run Airflow.

The plugin asks Airflow's auth-manager interface, never a manager of its own choosing, so FAB's
users and roles apply as they do to Airflow's own pages: a real ``airflow api-server`` process
with ``FabAuthManager``, its tables migrated by ``airflow fab-db migrate``, users made with
``airflow users create`` and tokens from FAB's ``POST /auth/token``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cluster import wait_for
from fab_helpers import FAB, FabServer, airflow_commands, client_for, user_command
from plugin_helpers import API

pytestmark = [pytest.mark.integration]  # an api-server only (no scheduler)

DAGS_FOLDER = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
ROLES = {"fab-admin": "Admin", "fab-user": "User", "fab-viewer": "Viewer"}

READS = [
    ("GET", f"{API}/messages"),
    ("GET", f"{API}/runs"),
    ("GET", f"{API}/projects"),
    ("GET", f"{API}/projects/core/usage"),
    ("GET", f"{API}/projects/core/auth-methods"),
    ("GET", f"{API}/messages.csv"),
    ("GET", f"{API}/runs.csv"),
]
WRITES = [
    ("POST", f"{API}/messages/reprocess", {"project": "core", "dry_run": True}),
    ("POST", f"{API}/runs/retry", {"project": "core", "dry_run": True}),
    ("POST", f"{API}/projects/core/auth-methods", {"kind": "api_key"}),
]


@pytest.fixture(scope="module")
def fab(tmp_path_factory, sqlalchemy_url) -> Iterator[tuple[FabServer, dict[str, str]]]:
    server = FabServer(
        tmp_path_factory.mktemp("airflow-home-fab"),
        sqlalchemy_url,
        DAGS_FOLDER,
        AIRFLOW__CORE__AUTH_MANAGER=FAB,
        AIRFLOW__FAB__UPDATE_FAB_PERMS="True",
    )
    passwords = {user: secrets.token_urlsafe(12) for user in ROLES}
    airflow_commands(
        server,
        [
            ["fab-db", "migrate"],
            *(user_command(user, passwords[user], role) for user, role in ROLES.items()),
        ],
    )
    server.start()
    try:
        yield server, passwords
    finally:
        server.stop()


def registry_synced(http: httpx.Client) -> bool:
    answer = http.get(f"{API}/projects")
    return answer.status_code == 200 and any(p["name"] == "core" for p in answer.json()["items"])


@pytest.fixture
def no_runs(db_url):
    """No ledger runs left by earlier tests: a bulk retry of the project must stay under its cap."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM openfn_run")


def test_fab_admin_reads_and_changes(fab, no_runs):
    with client_for(fab, "fab-admin") as http:
        wait_for(lambda: registry_synced(http), 60, "the registry", fab[0])
        for method, path in READS:
            assert http.request(method, path).status_code == 200, (method, path)
        for method, path, body in WRITES:
            answer = http.request(method, path, json=body)
            assert answer.status_code in (200, 201), (method, path, answer.text)
        methods = http.get(f"{API}/projects/core/auth-methods").json()["items"]
        assert [m["kind"] for m in methods] == ["api_key"]


def test_fab_user_role_may_reprocess_and_retry(fab, no_runs):
    with client_for(fab, "fab-user") as http:
        for method, path, body in WRITES[:2]:
            answer = http.request(method, path, json=body)
            assert answer.status_code == 200, (method, path, answer.text)


def test_fab_viewer_reads_but_changes_nothing(fab):
    with client_for(fab, "fab-viewer") as http:
        wait_for(lambda: registry_synced(http), 60, "the registry", fab[0])
        for method, path in READS:
            assert http.request(method, path).status_code == 200, (method, path)
        for method, path, body in WRITES:
            answer = http.request(method, path, json=body)
            assert answer.status_code == 403, (method, path, answer.text)


def test_fab_refuses_an_anonymous_caller(fab):
    with client_for(fab, None) as http:
        for method, path in READS:
            assert http.request(method, path).status_code == 401, (method, path)
        for method, path, body in WRITES:
            assert http.request(method, path, json=body).status_code == 401, (method, path)
