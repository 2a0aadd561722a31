"""Airflow's real api-server app, in-process, with the plugin mounted at /openfn.

Users come from the SimpleAuthManager (``[core] simple_auth_manager_users``): ``admin`` (role
admin), ``editor`` (role user: may run and change DAGs) and ``viewer`` (role viewer: reads only).
Their JWTs are minted by the auth manager, as ``POST /auth/token`` does after checking a password.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import serialize_dags
from plugin_helpers import token_for

os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = "admin:admin,editor:user,viewer:viewer"
os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(32))
os.environ.setdefault("AIRFLOW__API__SECRET_KEY", secrets.token_hex(32))

PROJECTS = Path(__file__).resolve().parents[1] / "projects"


@pytest.fixture(scope="session")
def airflow_app(_session_database: None) -> Any:
    """Airflow's api-server app as ``airflow api-server`` builds it (plugins included)."""
    from airflow.api_fastapi.app import create_app

    return create_app()


def _client(app: Any, headers: dict[str, str] | None = None) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(app, headers=headers or {})


@pytest.fixture
def anonymous(airflow_app: Any) -> Any:
    return _client(airflow_app)


@pytest.fixture
def admin(airflow_app: Any) -> Any:
    return _client(airflow_app, {"Authorization": f"Bearer {token_for(airflow_app, 'admin')}"})


@pytest.fixture
def editor(airflow_app: Any) -> Any:
    return _client(airflow_app, {"Authorization": f"Bearer {token_for(airflow_app, 'editor')}"})


@pytest.fixture
def viewer(airflow_app: Any) -> Any:
    return _client(airflow_app, {"Authorization": f"Bearer {token_for(airflow_app, 'viewer')}"})


@pytest.fixture
def registry(conn: Any, clean_db: None) -> Iterator[Any]:
    """The core test project synced into the registry (triggers, jobs, inbox id)."""
    from openfn_airflow.inbox.registry import sync_projects

    sync_projects(conn, PROJECTS)
    conn.commit()
    yield conn


@pytest.fixture(scope="session")
def core_dags_in_airflow(_session_database: None) -> dict[str, Any]:
    """The core project's DAGs parsed and written to Airflow's tables, as the dag-processor does."""
    dags_folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])  # set by the integration conftest
    return serialize_dags(dags_folder, "openfn_jobs.py")


@pytest.fixture
def no_retry_dag_runs(conn: Any, core_dags_in_airflow: dict[str, Any]) -> Iterator[None]:
    """The core DAGs in Airflow and no DAG run made by a retry, before and after the test.

    Retry DAG runs are queued: a scheduler started later by another test module would run them.
    """
    forget = "DELETE FROM dag_run WHERE run_id LIKE 'openfn\\_retry\\_\\_%%'"
    conn.execute(forget)
    conn.commit()
    yield
    conn.rollback()
    conn.execute(forget)
    conn.commit()
