"""The security suite: Airflow's real api-server app in-process, and a throw-away project.

The app is ``airflow.api_fastapi.app.create_app()`` (the plugin mounted at /openfn), called
through a TestClient that is never entered, so the app's lifespan (and with it the plugin's
dispatcher thread) does not start. Users come from the SimpleAuthManager, as in the plugin tests.
Every test starts from empty openfn_* tables of this session's own database (``clean_db``) and
syncs only its own project, ``security``, from a folder of its own: no other test's data is read
or changed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from security_helpers import INBOX_ID, PROJECT, token

os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = "admin:admin,editor:user,viewer:viewer"
os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(32))
os.environ.setdefault("AIRFLOW__API__SECRET_KEY", secrets.token_hex(32))

SPEC = f"""\
project: {PROJECT}
inbox:
  id: {INBOX_ID}
triggers:
  forms:
    criteria: {{form: intake}}
jobs:
  intake:
    file: jobs/echo.py
    trigger: forms
"""


@pytest.fixture(scope="session")
def airflow_app(_session_database: None) -> Any:
    """Airflow's api-server app as ``airflow api-server`` builds it (plugins included)."""
    from airflow.api_fastapi.app import create_app

    return create_app()


def _client(app: Any, user: str | None) -> Any:
    from fastapi.testclient import TestClient

    headers = {"Authorization": f"Bearer {token(app, user)}"} if user else {}
    return TestClient(app, headers=headers, follow_redirects=False)


@pytest.fixture
def anonymous(airflow_app: Any) -> Any:
    return _client(airflow_app, None)


@pytest.fixture
def admin(airflow_app: Any) -> Any:
    return _client(airflow_app, "admin")


@pytest.fixture
def viewer(airflow_app: Any) -> Any:
    return _client(airflow_app, "viewer")


@pytest.fixture(scope="session")
def project_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAGs folder of its own holding only the ``security`` project."""
    folder = tmp_path_factory.mktemp("security-dags")
    (folder / PROJECT / "jobs").mkdir(parents=True)
    (folder / PROJECT / "project.yaml").write_text(SPEC)
    (folder / PROJECT / "jobs" / "echo.py").write_text("operations = []\n")
    return folder


@pytest.fixture
def project(db_url: str, clean_db: None, project_folder: Path) -> Iterator[Any]:
    """Empty openfn_* tables, then the ``security`` project in the registry.

    Yields an autocommit connection (dict rows) to look at what was stored.
    """
    import psycopg
    from psycopg.rows import dict_row

    from openfn_airflow.inbox import auth_methods
    from openfn_airflow.inbox import registry as inbox_registry

    # Process-wide memos keyed by ids, which restart at 1 with every test's empty tables.
    inbox_registry._names.clear()
    auth_methods._touched.clear()
    auth_methods._verified.clear()
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        assert inbox_registry.sync_projects(conn, project_folder, prune=False) == [PROJECT]
        yield conn
