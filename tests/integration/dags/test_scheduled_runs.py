"""Jobs started by the real scheduler: asset events per message or batched, chaining, cron.

The session's shared real Airflow processes (api-server, scheduler, dag-processor with the
LocalExecutor; ``shared_cluster``) run against the session database; the tests register asset events the way the
inbox dispatcher does and read the ledger.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cluster as cluster_module
import pytest
from cluster import count_dags, cron_run_then_next, settle, wait_for
from factories import make_message

from openfn_airflow.store import runs

# The temporary DAGs folder the integration conftest made (dags/ plus the test projects).
DAGS_FOLDER = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
pytestmark = [pytest.mark.integration, pytest.mark.scheduler]

CORE_JOBS = 13  # every job of tests/integration/projects/core/project.yaml


@pytest.fixture(scope="module")
def cluster(shared_cluster, db_url):
    settle(db_url, shared_cluster)
    shared_cluster.started_at = time.time()
    wait_for(
        lambda: count_dags(db_url, "openfn__core__") == CORE_JOBS,
        180,
        "the core project's DAGs to be parsed",
        shared_cluster,
    )
    return shared_cluster


def schedule(trigger: str, message_ids: list[int]):
    return cluster_module.schedule("core", trigger, message_ids)


def finished_runs(conn, job: str) -> list[dict]:
    return cluster_module.finished_runs(conn, "core", job)


def asset_run_count(conn, job: str) -> int:
    """The job's DAG runs that an asset event started (runs other tests made by hand or with
    ``dag.test()`` are not this module's)."""
    conn.rollback()
    return conn.execute(
        "SELECT count(*) AS n FROM dag_run WHERE dag_id = %s AND run_type = 'asset_triggered'",
        [f"openfn__core__{job}"],
    ).fetchone()["n"]


def test_generated_dags_are_unpaused_except_switched_off(cluster, conn):
    rows = conn.execute(
        "SELECT dag_id, is_paused FROM dag WHERE dag_id LIKE 'openfn__core__%%'"
    ).fetchall()
    paused = {row["dag_id"] for row in rows if row["is_paused"]}
    assert paused == {"openfn__core__switched-off"}


def test_per_message_runs_and_chaining(cluster, conn, fake_api):
    bodies = [{"form": "intake", "name": f"patient {i}"} for i in range(4)]
    bodies.append({"form": "intake", "name": "bad", "invalid": True})
    ids = [make_message(conn, project="core", body=body)["id"] for body in bodies]
    conn.commit()
    scheduled = schedule("forms", ids)
    assert scheduled.per_message_jobs == ["intake"]  # not-listening has autoprocess off
    assert scheduled.events == 5

    intake = wait_for(
        lambda: (rows := finished_runs(conn, "intake")) and len(rows) >= 5 and rows,
        180,
        "five intake runs",
        cluster,
    )
    assert sorted(row["message_id"] for row in intake) == sorted(ids)
    # one DAG run per message, each started by its own asset event
    assert len({row["dag_run_id"] for row in intake}) == 5
    assert all(row["dag_run_id"].startswith("asset_triggered__") for row in intake)
    by_message = {row["message_id"]: row for row in intake}
    assert [by_message[i]["exit_code"] for i in ids] == [0, 0, 0, 0, 1]
    assert by_message[ids[0]]["initial_state"]["data"] == bodies[0]
    assert by_message[ids[0]]["trigger"] == "message"

    intake_ids = {row["id"] for row in intake}

    def downstream_of_intake(job: str) -> list[dict]:
        return [r for r in finished_runs(conn, job) if r["upstream_run_id"] in intake_ids]

    after_success = wait_for(
        lambda: (rows := downstream_of_intake("after-success")) and len(rows) >= 4 and rows,
        180,
        "four success-triggered runs",
        cluster,
    )
    assert len(after_success) == 4
    for row in after_success:
        upstream = by_message[row["message_id"]]
        assert row["upstream_run_id"] == upstream["id"]
        assert row["trigger"] == "success"
        # on_success receives the upstream run's final state
        assert row["initial_state"] == upstream["final_state"]
        assert row["final_state"]["patient_id"] == upstream["final_state"]["patient_id"]

    [after_failure] = wait_for(
        lambda: downstream_of_intake("after-failure"), 180, "the failure-triggered run", cluster
    )
    failed = by_message[ids[-1]]
    assert after_failure["upstream_run_id"] == failed["id"]
    # on_failure receives the upstream initial state plus "error" holding its log
    assert after_failure["initial_state"]["data"] == bodies[-1]
    assert "422" in after_failure["initial_state"]["error"]
    assert after_failure["initial_state"]["error"] == failed["log"]

    # a job with autoprocess off does not listen to its trigger
    assert finished_runs(conn, "not-listening") == []
    assert asset_run_count(conn, "not-listening") == 0


def test_batched_mode_one_ledger_run_per_message(cluster, conn):
    bodies = [{"kind": "bulk", "n": i, "fail": i in (3, 7)} for i in range(12)]
    ids = [make_message(conn, project="core", body=body)["id"] for body in bodies]
    conn.commit()
    # Two deliveries close together: Airflow may fold them into one DAG run, or start the
    # first before the second commits; either way every message gets its run.
    assert schedule("bulk", ids[:6]).batched_jobs == ["bulk"]
    schedule("bulk", ids[6:])

    rows = wait_for(
        lambda: (rows := finished_runs(conn, "bulk")) and len(rows) >= 12 and rows,
        180,
        "twelve batched runs",
        cluster,
    )
    assert sorted(row["message_id"] for row in rows) == sorted(ids)
    assert len({row["dag_run_id"] for row in rows}) <= 2
    assert runs.list_runs(conn, job="bulk", status="pending") == []
    failed = {row["message_id"] for row in rows if row["exit_code"] == 1}
    assert failed == {ids[3], ids[7]}
    ok = next(row for row in rows if row["message_id"] == ids[0])
    assert ok["final_state"]["stored"] == 0 and "reading 0" in ok["log"]


@pytest.mark.parametrize(
    ("body", "state", "exit_code"),
    [({"form": "intake", "invalid": True}, "failed", 1), ({"form": "intake"}, "success", 0)],
    ids=["failed", "succeeded"],
)
def test_clearing_a_task_repeats_its_run(cluster, conn, body, state, exit_code):
    """Cleared in Airflow, a failed task repeats its failed run; a succeeded one repeats it too."""
    message_id = make_message(conn, project="core", body=body)["id"]
    conn.commit()
    schedule("forms", [message_id])
    [first] = wait_for(
        lambda: [r for r in finished_runs(conn, "intake") if r["message_id"] == message_id],
        180,
        "the intake run",
        cluster,
    )
    assert first["exit_code"] == exit_code

    def task_state() -> str | None:
        conn.rollback()
        row = conn.execute(
            "SELECT state FROM task_instance WHERE dag_id = 'openfn__core__intake' "
            "AND run_id = %s AND task_id = 'run'",
            [first["dag_run_id"]],
        ).fetchone()
        return row and row["state"]

    # The ledger row is written before the task process exits: clear once Airflow has the state.
    wait_for(lambda: task_state() == state, 120, f"the task instance to be {state}", cluster)
    answer = cluster.api(
        "POST",
        "/dags/openfn__core__intake/clearTaskInstances",
        json={
            "dry_run": False,
            "dag_run_id": first["dag_run_id"],
            "task_ids": ["run"],
            "only_failed": state == "failed",
        },
    )
    assert answer.status_code == 200, answer.text
    assert [ti["task_id"] for ti in answer.json()["task_instances"]] == ["run"]

    retry = wait_for(
        lambda: [r for r in finished_runs(conn, "intake") if r["retry_of"] == first["id"]],
        180,
        "the repeated run",
        cluster,
    )[0]
    assert retry["message_id"] == message_id
    assert retry["try_number"] == 2
    assert retry["initial_state"] == first["initial_state"]
    assert retry["exit_code"] == exit_code  # the same input again, recorded as a new attempt


def test_cron_runs_carry_the_cursor(cluster, conn):
    """The core project's counter job runs every minute; the run after a tick's starts from its cursor."""
    first, second = cron_run_then_next(cluster, conn, "core", "counter")
    assert second["initial_state"]["count"] == first["final_state"]["count"]
    assert second["final_state"]["count"] == first["final_state"]["count"] + 1


def test_task_processes_are_forked_with_the_job_tasks_modules_loaded(cluster, conn):
    """The LocalExecutor's workers, forked from the scheduler, hold psycopg and our DAG modules
    before any task, so each task process forked from them starts with them
    (``[openfn] preload_task_modules``, on by default)."""
    import psutil

    scheduler = psutil.Process(cluster.processes["scheduler"].pid)
    message_id = make_message(conn, project="core", body={"form": "intake", "name": "preload"})[
        "id"
    ]
    conn.commit()
    schedule("forms", [message_id])  # the workers are forked when a task is first queued

    def workers() -> list[psutil.Process] | None:
        found = [
            child
            for child in scheduler.children()
            if "LocalExecutor" in " ".join(child.cmdline())
            and "<idle>" in " ".join(child.cmdline())
        ]
        return found or None

    idle = wait_for(workers, 120, "the LocalExecutor's idle workers", cluster)
    for worker in idle:
        mapped = Path(f"/proc/{worker.pid}/maps").read_text()
        assert "psycopg_binary/_psycopg" in mapped, worker.cmdline()
    log = (cluster.home / "logs" / "scheduler.out").read_text(errors="replace")
    assert "Preloaded the job task's modules" in log
    wait_for(
        lambda: any(r["message_id"] == message_id for r in finished_runs(conn, "intake")),
        180,
        "the message's intake run",
        cluster,
    )
