"""``openfn-airflow db migrate``, run as the installed console script against real databases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from openfn_airflow.store import schema

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).parent / "openfn-airflow"


def openfn_airflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, timeout=120, check=False
    )


def openfn_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
    return [name for (name,) in rows if name.startswith("openfn_")]


def revision(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        return schema.current_revision(conn)


def test_db_migrate_creates_the_openfn_tables(empty_database):
    url = empty_database()
    assert openfn_tables(url) == []

    result = openfn_airflow("db", "migrate", "--url", url)

    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert set(schema.TABLES) <= set(openfn_tables(url))
    assert revision(url) == schema.head_revision()


def test_db_migrate_twice_is_a_no_op_that_keeps_the_data(empty_database):
    url = empty_database()
    assert openfn_airflow("db", "migrate", "--url", url).returncode == 0
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO openfn_project (name, inbox_id) "
            "VALUES ('demo', '7c1e0b2a-8c7d-4f5e-9a3b-2d1c0e9f8a7b')"
        )
    tables = openfn_tables(url)

    again = openfn_airflow("db", "migrate", "--url", url)

    assert again.returncode == 0, again.stderr
    assert openfn_tables(url) == tables
    assert revision(url) == schema.head_revision()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT name FROM openfn_project").fetchall() == [("demo",)]


def test_db_migrate_without_url_uses_airflows_database(db_url):
    # The session database is Airflow's (conftest sets sql_alchemy_conn); it is already migrated.
    before = openfn_tables(db_url)

    result = openfn_airflow("db", "migrate")

    assert result.returncode == 0, result.stderr
    assert openfn_tables(db_url) == before
    assert revision(db_url) == schema.head_revision()


def test_db_migrate_on_an_unreachable_database_says_so_in_one_line():
    result = openfn_airflow("db", "migrate", "--url", "postgresql://postgres@127.0.0.1:1/nowhere")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "unavailable" in result.stderr
    assert "127.0.0.1" in result.stderr
