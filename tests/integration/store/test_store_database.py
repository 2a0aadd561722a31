"""Which database the store uses, and how driver errors reach callers."""

from __future__ import annotations

import socket

import psycopg
import pytest

from openfn_airflow.store import schema
from openfn_airflow.store.database import (
    connect,
    connect_patiently,
    database_url,
    wrap_exceptions,
)
from openfn_airflow.store.errors import DatabaseUnavailable, StoreError

pytestmark = pytest.mark.integration


def _refusing_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/openfn"


def test_database_url_is_airflows_without_the_driver(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql+psycopg2://u:p%40ss@db.example:5433/af"
    )

    assert database_url() == "postgresql://u:p%40ss@db.example:5433/af"


def test_openfn_database_url_wins_over_airflows(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__DATABASE_URL", "postgresql+psycopg://u@other/openfn")

    assert database_url() == "postgresql://u@other/openfn"


def test_session_database_is_the_default(db_url):
    with connect() as conn:
        assert conn.execute("SELECT current_database() AS db").fetchone() == {
            "db": db_url.rsplit("/", 1)[1]
        }


def test_sqlite_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite:////tmp/airflow.db")

    with pytest.raises(StoreError) as raised:
        database_url()

    assert str(raised.value) == (
        "openfn-airflow needs PostgreSQL: [database] sql_alchemy_conn is a sqlite URL and sqlite "
        "is not supported, set [database] sql_alchemy_conn to a postgresql:// URL"
    )


def test_mysql_in_openfn_database_url_is_refused_naming_that_option(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__DATABASE_URL", "mysql+mysqldb://u@h/db")

    with pytest.raises(StoreError, match=r"set \[openfn\] database_url to a postgresql:// URL"):
        database_url()


def test_refused_connection_is_database_unavailable():
    with pytest.raises(DatabaseUnavailable, match="the database is unavailable"):
        connect(_refusing_url())


def test_a_patient_connection_tries_again_until_its_wait_is_over(db_url):
    pauses: list[float] = []
    with pytest.raises(DatabaseUnavailable):
        connect_patiently(
            _refusing_url(), wait=1.0, on_retry=lambda error, pause: pauses.append(pause)
        )
    assert len(pauses) >= 2 and sum(pauses) == pytest.approx(1.0, abs=0.1)

    with connect_patiently(db_url, wait=1.0, on_retry=lambda *_: pauses.clear()) as conn:
        assert conn.execute("SELECT 1 AS one").fetchone()["one"] == 1
    assert pauses  # a reachable database is not waited for


def test_migrate_on_a_refused_connection_is_database_unavailable():
    with pytest.raises(DatabaseUnavailable):
        schema.migrate(_refusing_url())


def test_other_driver_errors_are_store_errors_not_unavailable(conn):
    with pytest.raises(StoreError) as raised, wrap_exceptions():
        conn.execute("SELECT * FROM no_such_table")

    assert not isinstance(raised.value, DatabaseUnavailable)
    assert isinstance(raised.value.__cause__, psycopg.errors.UndefinedTable)


def test_connection_lost_mid_transaction_is_database_unavailable(db_url):
    victim = connect(db_url)
    pid = victim.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    with pytest.raises(DatabaseUnavailable), wrap_exceptions():
        victim.execute("SELECT 1")
    victim.close()


def test_errors_outside_the_driver_pass_through():
    with pytest.raises(KeyError), wrap_exceptions():
        raise KeyError("not a database problem")
