"""What the inbox tests share: the test project, the registry synced, DAGs in Airflow's tables.

Test modules import the fixtures they use from here (``from inbox_helpers import ...``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

# The temporary DAGs folder the integration conftest made (dags/ plus the test projects).
DAGS_FOLDER = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
INBOX_ID = "5f0c6a43-8f7e-4d59-9a53-5a3d2b6e9c01"  # fixed by tests/integration/projects/inbox
INBOX_JOBS = 6  # every non-archived job of tests/integration/projects/inbox/project.yaml
PROJECT = "inbox"


def sync_airflow_dags() -> None:
    """Parse the DAGs folder and write its DAGs and assets to Airflow's tables, as
    ``dag.test()`` does, so DAGs are paused or not and trigger assets are active."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)


@pytest.fixture(scope="session")
def airflow_dags(db_url: str) -> None:
    """The test projects' DAGs, known to Airflow (once per session)."""
    sync_airflow_dags()


@pytest.fixture
def registry(db_url: str, clean_db: None) -> list[str]:
    """Empty openfn_* tables, then the registry synced from the test DAGs folder."""
    from openfn_airflow.inbox import auth_methods
    from openfn_airflow.inbox import registry as inbox_registry
    from openfn_airflow.store.database import connect

    # Process-wide memos keyed by ids, which restart at 1 with every test's empty tables.
    inbox_registry._names.clear()
    auth_methods._touched.clear()
    auth_methods._verified.clear()
    with connect(db_url) as conn:
        names = inbox_registry.sync_projects(conn, DAGS_FOLDER)
        conn.commit()
    return names


@pytest.fixture
def autocommit(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection with dict rows, as the inbox's pool hands out."""
    from psycopg.rows import dict_row

    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    """The inbox router on a bare FastAPI app, mounted at /openfn as the plugin is."""
    from openfn_airflow.plugin.routers import inbox

    inbox.close_pool()
    app = FastAPI()
    app.include_router(inbox.router)
    outer = FastAPI()
    outer.mount("/openfn", app)
    with TestClient(outer) as test_client:
        yield test_client
    inbox.close_pool()


def post(conn: psycopg.Connection[Any], body: dict, inbox_id: str = INBOX_ID) -> dict:
    """Receive a JSON message into the inbox as the inbox route does; return its 202 answer."""
    import json

    from openfn_airflow.inbox import ingest

    receipt = ingest.receive(
        conn,
        inbox_id=inbox_id,
        method="POST",
        path=f"/openfn/inbox/{inbox_id}",
        query={},
        headers={"content-type": "application/json"},
        raw=json.dumps(body).encode(),
    )
    assert receipt.status_code == 202, receipt.body
    return receipt.body


def count(conn: psycopg.Connection[Any], table: str) -> int:
    """Rows in one of our tables (the name is ours, never user input)."""
    row = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()
    assert row is not None
    return row["n"] if isinstance(row, dict) else row[0]


def wait_for_inbox(started: Any, db_url: str) -> None:
    """Wait until the inbox project's DAGs are parsed and its inbox answers (the api-server's
    dispatcher synced the registry)."""
    import httpx
    from cluster import count_dags, wait_for

    wait_for(
        lambda: count_dags(db_url, "openfn__inbox__") == INBOX_JOBS,
        180,
        "the inbox project's DAGs to be parsed",
        started,
    )
    inbox = f"{started.url}/openfn/inbox/{INBOX_ID}"
    wait_for(lambda: httpx.get(inbox).status_code == 200, 60, "the inbox", started)
