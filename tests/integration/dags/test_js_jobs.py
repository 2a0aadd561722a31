"""OpenFn JavaScript jobs started by the real scheduler, on OpenFn's npm runtime and adaptors.

The ``js`` project (tests/integration/js_project) pins two versions of language-common side by
side; its own DAGs folder keeps the other clusters from parsing it. Every
trigger kind runs: a message per DAG run, a batch of messages in one DAG run, cron with the cursor
carried, and another job's success and failure.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cluster as cluster_module
import pytest
from adaptors import adaptors_repo
from cluster import Cluster, count_dags, cron_run_then_next, fresh_start, wait_for
from factories import make_message

REPO = Path(__file__).resolve().parents[3]
PROJECT = REPO / "tests" / "integration" / "js_project"
JOBS = 5  # every job of the js project
SECRET = "s3cret-pa55"  # the fake_api connection's password (tests/integration/conftest.py)
pytestmark = [pytest.mark.integration, pytest.mark.scheduler]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, sqlalchemy_url, db_url, fake_api):
    repo = adaptors_repo()
    dags: Path = tmp_path_factory.mktemp("js-dags")
    shutil.copy(REPO / "dags" / "openfn_jobs.py", dags / "openfn_jobs.py")
    shutil.copytree(PROJECT, dags / "js")
    home: Path = tmp_path_factory.mktemp("airflow-home")
    fresh_start(db_url)
    started = Cluster(home, sqlalchemy_url, dags, AIRFLOW__OPENFN__ADAPTORS_PATH=str(repo)).start()
    try:
        wait_for(
            lambda: count_dags(db_url, "openfn__js__") == JOBS,
            180,
            "the js project's DAGs to be parsed",
            started,
        )
        yield started
    finally:
        started.stop()


def schedule(trigger: str, message_ids: list[int]):
    return cluster_module.schedule("js", trigger, message_ids)


def finished_runs(conn, job: str) -> list[dict]:
    return cluster_module.finished_runs(conn, "js", job)


def stored(run: dict) -> str:
    """Everything the ledger keeps of a run, as text."""
    return json.dumps([run["log"], run["initial_state"], run["final_state"]], default=str)


def test_message_runs_chain_on_success_and_failure(cluster, conn, fake_api):
    bodies = [{"kind": "visit", "name": "Ada"}, {"kind": "visit", "name": "Grace"}]
    bodies.append({"kind": "visit", "name": "Bad", "invalid": True})
    ids = [make_message(conn, project="js", body=body)["id"] for body in bodies]
    conn.commit()
    assert schedule("visits", ids).per_message_jobs == ["visit"]

    visits = wait_for(
        lambda: (rows := finished_runs(conn, "visit")) and len(rows) >= 3 and rows,
        180,
        "three visit runs",
        cluster,
    )
    by_message = {row["message_id"]: row for row in visits}
    assert [by_message[i]["exit_code"] for i in ids] == [0, 0, 1]
    assert len({row["dag_run_id"] for row in visits}) == 3  # one DAG run per message
    ok = by_message[ids[0]]
    assert ok["ran_with"].startswith("Node v") and "@openfn/language-http@7.2.10" in ok["ran_with"]
    assert ok["log"].startswith(f"Ran with {ok['ran_with']}")
    assert "registered patient" in ok["log"]
    assert ok["final_state"]["patient_id"] == ok["final_state"]["data"]["id"]
    assert "configuration" not in ok["final_state"]
    posted = [r["body"] for r in fake_api.received if r["path"] == "/patients"]
    assert {"name": "Ada"} in [{k: v for k, v in b.items() if v is not None} for b in posted]
    assert "422" in by_message[ids[2]]["log"]

    visit_ids = {row["id"] for row in visits}

    def downstream(job: str) -> list[dict]:
        return [r for r in finished_runs(conn, job) if r["upstream_run_id"] in visit_ids]

    welcomed = wait_for(
        lambda: (rows := downstream("after-visit")) and len(rows) >= 2 and rows,
        180,
        "two success-triggered runs",
        cluster,
    )
    for row in welcomed:
        upstream = next(v for v in visits if v["id"] == row["upstream_run_id"])
        assert row["trigger"] == "success" and row["exit_code"] == 0
        assert row["initial_state"] == upstream["final_state"]
        assert row["final_state"]["welcomed"] == upstream["final_state"]["patient_id"]
        assert "@openfn/language-common@3.3.4" in row["ran_with"]

    [alert] = wait_for(lambda: downstream("visit-alert"), 180, "the failure-triggered run", cluster)
    assert alert["trigger"] == "failure" and alert["exit_code"] == 0
    assert alert["initial_state"]["data"] == bodies[2]
    assert alert["initial_state"]["error"] == by_message[ids[2]]["log"]
    assert alert["final_state"]["alerted"] == "Bad" and alert["final_state"]["had_error"] is True
    # The other version of the same adaptor, side by side in the one repository.
    assert "@openfn/language-common@3.2.3" in alert["ran_with"]

    for run in [*visits, *welcomed, alert]:
        assert SECRET not in stored(run)


def test_batched_runs_one_ledger_run_per_message(cluster, conn):
    bodies = [{"kind": "reading", "value": i} for i in range(6)]
    ids = [make_message(conn, project="js", body=body)["id"] for body in bodies]
    conn.commit()
    assert schedule("readings", ids).batched_jobs == ["readings"]

    rows = wait_for(
        lambda: (rows := finished_runs(conn, "readings")) and len(rows) >= 6 and rows,
        180,
        "six batched runs",
        cluster,
    )
    assert sorted(row["message_id"] for row in rows) == sorted(ids)
    assert len({row["dag_run_id"] for row in rows}) == 1
    assert [row["exit_code"] for row in rows] == [0] * 6, rows[0]["log"]
    for row in rows:
        value = row["initial_state"]["data"]["value"]
        assert f"reading {value}" in row["log"]
        assert row["final_state"]["value"] == value and row["final_state"]["cases"] >= 1
        assert "@openfn/language-http@7.2.10" in row["ran_with"]
        assert SECRET not in stored(row)


def test_cron_runs_carry_the_cursor(cluster, conn):
    first, second = cron_run_then_next(cluster, conn, "js", "counter")
    assert [first["exit_code"], second["exit_code"]] == [0, 0]
    assert second["initial_state"]["count"] == first["final_state"]["count"]
    assert second["final_state"]["count"] == first["final_state"]["count"] + 1
