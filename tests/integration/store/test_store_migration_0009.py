"""Migration 0009 on jobs synced before it: they gain ``enabled_changed_at`` (unknown for them)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from openfn_airflow.store import schema

pytestmark = pytest.mark.integration


def test_0009_keeps_old_jobs_with_no_switch_time(empty_database):
    url = empty_database()
    schema.migrate(url, "0008")
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO openfn_job (project, name, trigger, dag_id, enabled) "
            "VALUES ('demo', 'old', 'form', 'openfn__demo__old', false)"
        )

    schema.migrate(url)

    with psycopg.connect(url, row_factory=dict_row) as conn:
        [old] = conn.execute("SELECT name, enabled, enabled_changed_at FROM openfn_job").fetchall()
    assert old == {"name": "old", "enabled": False, "enabled_changed_at": None}
