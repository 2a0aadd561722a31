"""``airflow db migrate`` / ``airflow db reset`` manage our tables through OpenFnDBManager."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema
import psycopg
import pytest

from openfn_airflow.provider import get_provider_info
from openfn_airflow.store import schema
from openfn_airflow.store.db_manager import OpenFnDBManager

pytestmark = pytest.mark.integration

AIRFLOW_BIN = Path(sys.executable).parent / "airflow"


def _public_tables(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row["tablename"] if isinstance(row, dict) else row[0] for row in rows}


def test_provider_info_is_valid_for_airflow():
    airflow_schema = json.loads(files("airflow").joinpath("provider_info.schema.json").read_text())
    info = get_provider_info()

    jsonschema.validate(info, airflow_schema)
    assert info["db-managers"] == ["openfn_airflow.store.db_manager.OpenFnDBManager"]
    assert info["config"]["openfn"]["options"]["inbox_max_body_bytes"]["default"] == "8388608"


def test_airflow_discovers_the_db_manager():
    from airflow.utils.db_manager import RunDBManager

    managers = RunDBManager()
    managers.validate()

    assert OpenFnDBManager in managers._managers
    assert {"openfn_message", "openfn_run", "openfn_project", "openfn_alembic_version"} <= (
        managers.get_required_table_names()
    )


def test_session_database_was_built_by_airflow_db_migrate(conn):
    # The template behind every session database is made by the real `airflow db migrate`.
    tables = _public_tables(conn)

    assert {"dag", "task_instance", "asset", "alembic_version"} <= tables
    assert {"openfn_message", "openfn_run", "openfn_project", "openfn_alembic_version"} <= tables
    assert schema.current_revision(conn) == schema.head_revision()


def test_airflow_db_migrate_again_changes_nothing(template_clone):
    url = template_clone()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO openfn_project (name, inbox_id) VALUES ('kept', gen_random_uuid())"
        )

    result = subprocess.run(
        [str(AIRFLOW_BIN), "db", "migrate"],
        env=_airflow_env(url),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Running upgrade" not in result.stdout + result.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT name FROM openfn_project").fetchall() == [("kept",)]
        assert schema.current_revision(conn) == schema.head_revision()


def test_db_manager_drops_our_tables_then_builds_them_by_migrating(template_clone, monkeypatch):
    from airflow import settings
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    url = template_clone()
    sqlalchemy_url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    monkeypatch.setattr(settings, "SQL_ALCHEMY_CONN", sqlalchemy_url)  # what the manager migrates
    engine = create_engine(sqlalchemy_url)
    try:
        with Session(engine) as session, engine.begin() as connection:
            OpenFnDBManager(session).drop_tables(connection)  # `airflow db reset`
        with psycopg.connect(url) as conn:
            tables = _public_tables(conn)
            assert schema.current_revision(conn) is None
        assert not {name for name in tables if name.startswith("openfn_")}
        assert "dag" in tables

        with Session(engine) as session:
            # An Airflow database without our tables (openfn-airflow installed into an existing
            # deployment): no revision yet, so upgradedb goes through create_db_from_orm.
            OpenFnDBManager(session).upgradedb()
            assert OpenFnDBManager(session).check_migration()

        with psycopg.connect(url) as conn:
            assert {"openfn_message", "openfn_run", "openfn_project"} <= _public_tables(conn)
            assert schema.current_revision(conn) == schema.head_revision()
    finally:
        engine.dispose()


def _airflow_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url.replace(
            "postgresql://", "postgresql+psycopg2://"
        ),
    }
