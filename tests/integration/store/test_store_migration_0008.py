"""Migration 0008 on data stored before it: runs gain ``ran_with`` (unknown for old runs)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from openfn_airflow.store import runs, schema

pytestmark = pytest.mark.integration


def test_0008_keeps_old_runs_without_a_ran_with_and_new_runs_record_theirs(empty_database):
    url = empty_database()
    schema.migrate(url, "0007")
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO openfn_run (project, job, trigger, status, log) "
            "VALUES ('demo', 'old', 'manual', 'success', 'done')"
        )

    schema.migrate(url)

    with psycopg.connect(url, row_factory=dict_row) as conn:
        [old] = conn.execute("SELECT job, log, ran_with FROM openfn_run").fetchall()
        new = runs.start_run(
            conn, project="demo", job="new", trigger="manual", initial_state={}, ran_with="X 1.0"
        )
        assert runs.get_run(conn, new)["ran_with"] == "X 1.0"
    assert old == {"job": "old", "log": "done", "ran_with": None}
