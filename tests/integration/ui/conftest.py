"""The OpenFn screens: Airflow's api-server app in-process (page tests) and a seeded project.

Users come from the SimpleAuthManager, as in the plugin API tests: ``admin`` (role admin) and
``viewer`` (role viewer: reads only).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import serialize_dags

os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = "admin:admin,editor:user,viewer:viewer"
os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(32))
os.environ.setdefault("AIRFLOW__API__SECRET_KEY", secrets.token_hex(32))

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
ROLES = {"admin": "admin", "editor": "user", "viewer": "viewer"}


@pytest.fixture(scope="session")
def airflow_app(_session_database: None) -> Any:
    """Airflow's api-server app as ``airflow api-server`` builds it (plugins included)."""
    from airflow.api_fastapi.app import create_app

    return create_app()


def _client(app: Any, user: str | None) -> Any:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    client = TestClient(app, follow_redirects=False)
    if user is not None:
        token = app.state.auth_manager.generate_jwt(
            SimpleAuthManagerUser(username=user, role=ROLES[user])
        )
        client.cookies.set("_token", token)  # as Airflow's UI holds it after the login page
    return client


@pytest.fixture
def anonymous(airflow_app: Any) -> Any:
    return _client(airflow_app, None)


@pytest.fixture
def admin(airflow_app: Any) -> Any:
    return _client(airflow_app, "admin")


@pytest.fixture
def viewer(airflow_app: Any) -> Any:
    return _client(airflow_app, "viewer")


@pytest.fixture
def registry(conn: Any, clean_db: None) -> Iterator[Any]:
    """The core test project synced into the registry (triggers, jobs, inbox id)."""
    from openfn_airflow.inbox.registry import sync_projects

    sync_projects(conn, PROJECTS)
    conn.commit()
    yield conn


@pytest.fixture(scope="session")
def core_dags(_session_database: None) -> None:
    """The test projects' DAGs parsed and written to Airflow's tables, as the dag-processor does."""
    dags_folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])  # set by the integration conftest
    serialize_dags(dags_folder, "openfn_jobs.py")


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: Any, sqlalchemy_url: str) -> Any:
    """One real api-server for the browser modules (starting one takes seconds), stopped after
    the last test using it (tests/integration/conftest.py ``SHARED``).

    It holds nothing of a module: each module seeds the database (its ``seeded`` fixture) before
    it asks for ``server``, and the server reads the database on every request.
    """
    from cluster import shared
    from server import ApiServer

    def start() -> ApiServer:
        return ApiServer(
            tmp_path_factory.mktemp("openfn-ui-server"),
            sqlalchemy_url,
            Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]),
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin,viewer:viewer",
            # No scheduler runs beside this server, so the DAG runs its dispatcher asks for never
            # start: an auto job would count them as a backlog and put the next messages in its
            # queue of pending runs, which the screens' tests would then find in the activity.
            # The screens are tested on one DAG run per message.
            AIRFLOW__OPENFN__AUTO_THRESHOLD="100000",
        ).start()

    return shared("ui_server", start)
