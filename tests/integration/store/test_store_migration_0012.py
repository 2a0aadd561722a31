"""Migration 0012: a job's ``runs`` may be 'auto', and it is the column's default."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from openfn_airflow.store import schema

pytestmark = pytest.mark.integration

INSERT_JOB = (
    "INSERT INTO openfn_job (project, name, trigger, dag_id, runs) "
    "VALUES ('demo', %s, 'form', 'openfn__demo__' || %s, %s)"
)


def test_0012_lets_a_job_run_auto_and_keeps_the_jobs_synced_before(empty_database):
    url = empty_database()
    schema.migrate(url, "0011")
    with psycopg.connect(url) as conn:
        conn.execute(INSERT_JOB, ["old", "old", "batched"])
    with pytest.raises(psycopg.errors.CheckViolation), psycopg.connect(url) as conn:
        conn.execute(INSERT_JOB, ["new", "new", "auto"])

    schema.migrate(url)

    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.execute(INSERT_JOB, ["new", "new", "auto"])
        conn.execute(
            "INSERT INTO openfn_job (project, name, trigger, dag_id) "
            "VALUES ('demo', 'plain', 'form', 'openfn__demo__plain')"
        )
        jobs = conn.execute("SELECT name, runs FROM openfn_job ORDER BY name").fetchall()
    assert {job["name"]: job["runs"] for job in jobs} == {
        "new": "auto",
        "old": "batched",
        "plain": "auto",
    }
