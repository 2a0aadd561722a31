"""A job runs only on its own project's data, whatever a manual run's conf or an event names.

Whoever may run a job of project a (the Trigger DAG form, Airflow's REST API) must not run it
on, and so read, a message of project b.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import make_message

from openfn_airflow.store import runs

PROJECTS = Path(__file__).resolve().parents[1] / "projects"


@pytest.fixture(scope="module")
def core_dags():
    from openfn_airflow.dags.loader import load_dags

    return load_dags(PROJECTS)


def only_run(conn, job: str) -> dict:
    conn.rollback()
    [row] = runs.list_runs(conn, job=job)
    found = runs.get_run(conn, row["id"])
    assert found is not None
    return found


def test_a_manual_run_on_another_projects_message_does_not_start(core_dags, conn, clean_db):
    other = make_message(conn, project="inbox", body={"form": "patient", "secret": "b-only"})
    conn.commit()
    core_dags["openfn__core__switched-off"].test(run_conf={"message_id": other["id"]})
    row = only_run(conn, "switched-off")
    assert row["exit_code"] == 3  # could not start
    assert f"message {other['id']} does not exist" in row["log"]
    assert "b-only" not in repr(row)


def test_a_manual_run_on_its_own_projects_message_runs(core_dags, conn, clean_db):
    own = make_message(conn, project="core", body={"form": "intake", "name": "Ada"})
    conn.commit()
    core_dags["openfn__core__switched-off"].test(run_conf={"message_id": own["id"]})
    row = only_run(conn, "switched-off")
    assert row["exit_code"] == 0 and row["initial_state"]["data"]["name"] == "Ada"
