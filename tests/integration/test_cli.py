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


def test_revoking_the_last_method_says_the_inbox_stays_closed_and_how_to_open_it(db_url, clean_db):
    added = openfn_airflow("auth", "add-key", "inbox")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    with psycopg.connect(db_url) as conn:
        [(method_id,)] = conn.execute("SELECT id FROM openfn_auth_method").fetchall()
    assert openfn_airflow("auth", "open", "inbox").returncode != 0  # a method is active

    revoked = openfn_airflow("auth", "revoke", "inbox", str(method_id))
    listed = openfn_airflow("auth", "list", "inbox")

    assert revoked.returncode == 0, revoked.stderr
    assert "closed" in revoked.stdout and "openfn-airflow auth open inbox" in revoked.stdout
    assert "closed" in listed.stdout and key[-4:] in listed.stdout  # an API key's suffix stays

    opened = openfn_airflow("auth", "open", "inbox")
    assert opened.returncode == 0, opened.stderr
    assert "anyone with its URL can send" in opened.stdout
    assert "open: anyone with its URL" in openfn_airflow("auth", "list", "inbox").stdout


def test_auth_list_shows_no_part_of_a_basic_password(db_url, clean_db):
    from openfn_airflow.inbox import auth_methods

    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO openfn_project (name, inbox_id) "
            "VALUES ('inbox', '5f0c6a43-8f7e-4d59-9a53-5a3d2b6e9c01') ON CONFLICT DO NOTHING"
        )
        from psycopg.rows import dict_row

        conn.row_factory = dict_row  # type: ignore[assignment]
        auth_methods.add_basic(conn, "inbox", "collect", "horse-Zq9!")
        conn.commit()

    listed = openfn_airflow("auth", "list", "inbox")

    assert listed.returncode == 0, listed.stderr
    assert "collect" in listed.stdout and "Zq9!" not in listed.stdout and "q9!" not in listed.stdout
