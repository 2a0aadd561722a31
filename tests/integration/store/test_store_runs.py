"""The run ledger: what a run records, the cron cursor, and retries."""

from __future__ import annotations

import pytest
from factories import make_message, make_run
from psycopg.rows import dict_row

from openfn_airflow.store import runs
from openfn_airflow.store.errors import StoreError

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_db")]


def test_start_then_finish_records_the_whole_run(conn):
    message = make_message(conn)
    run_id = runs.start_run(
        conn,
        project="demo",
        job="register-patient",
        trigger="message",
        message_id=message["id"],
        dag_id="openfn__demo__register-patient",
        dag_run_id="asset_triggered__2026",
        task_id="run",
        try_number=1,
        initial_state={"data": {"name": "Ada"}, "references": []},
        bundle_version="abc123",
    )

    started = runs.get_run(conn, run_id)
    assert started["status"] == "running"
    assert started["started_at"] is not None and started["finished_at"] is None
    assert started["log"] == "" and started["map_index"] == -1

    runs.finish_run(
        conn, run_id, status="success", exit_code=0, log="hello\n", final_state={"data": {"id": 7}}
    )

    finished = runs.get_run(conn, run_id)
    assert finished["status"] == "success"
    assert finished["exit_code"] == 0
    assert finished["log"] == "hello\n"
    assert finished["final_state"] == {"data": {"id": 7}}
    assert finished["initial_state"] == {"data": {"name": "Ada"}, "references": []}
    assert finished["finished_at"] >= finished["started_at"]
    assert (finished["message_id"], finished["dag_id"], finished["bundle_version"]) == (
        message["id"],
        "openfn__demo__register-patient",
        "abc123",
    )


def test_ids_grow_with_every_run(conn):
    ids = [make_run(conn)["id"] for _ in range(3)]

    assert ids == sorted(ids) == [1, 2, 3]


def test_get_run_of_unknown_id_is_none(conn):
    assert runs.get_run(conn, 424242) is None


def test_finishing_an_unknown_run_is_an_error(conn):
    with pytest.raises(StoreError, match="run 424242 does not exist"):
        runs.finish_run(conn, 424242, status="success", exit_code=0, log="", final_state={})


def test_unknown_trigger_or_status_is_refused_by_the_database(conn):
    with pytest.raises(StoreError, match="openfn_run_trigger_check"):
        make_run(conn, trigger="webhook")
    conn.rollback()
    run_id = make_run(conn)["id"]
    with pytest.raises(StoreError, match="openfn_run_status_check"):
        runs.finish_run(conn, run_id, status="done", exit_code=0, log="", final_state={})


def test_cursor_is_the_last_successful_final_state_not_a_later_failure(conn):
    make_run(conn, job="sync", trigger="cron", status="success", final_state={"cursor": 1})
    make_run(conn, job="sync", trigger="cron", status="success", final_state={"cursor": 2})
    make_run(conn, job="sync", trigger="cron", status="failed", final_state={"cursor": 99})
    make_run(conn, job="sync", trigger="cron")  # still running
    make_run(conn, job="other", status="success", final_state={"cursor": 50})
    make_run(conn, project="elsewhere", job="sync", status="success", final_state={"cursor": 60})

    assert runs.get_cursor_state(conn, "demo", "sync") == {"cursor": 2}


def test_no_cursor_before_the_first_success(conn):
    make_run(conn, job="sync", status="failed", final_state={"cursor": 1})

    assert runs.get_cursor_state(conn, "demo", "sync") is None


def test_deleting_a_message_keeps_its_runs(conn):
    message = make_message(conn)
    run = make_run(conn, trigger="message", message_id=message["id"], status="success")

    conn.execute("DELETE FROM openfn_message WHERE id = %s", [message["id"]])

    kept = runs.get_run(conn, run["id"])
    assert kept is not None and kept["message_id"] is None and kept["status"] == "success"


def test_deleting_a_run_keeps_its_retries(conn):
    first = make_run(conn, status="failed")
    retry = make_run(conn, trigger="retry", retry_of=first["id"])

    conn.execute("DELETE FROM openfn_run WHERE id = %s", [first["id"]])

    assert runs.get_run(conn, retry["id"])["retry_of"] is None


def test_previous_attempt_is_the_latest_run_of_the_same_task_and_message(conn):
    one, two = make_message(conn)["id"], make_message(conn)["id"]
    task = {"dag_id": "openfn__demo__echo", "dag_run_id": "run-1", "task_id": "run"}
    first = make_run(conn, **task, message_id=one, try_number=1, status="failed")["id"]
    make_run(conn, **task, message_id=two, try_number=1, status="failed")
    make_run(conn, **{**task, "dag_run_id": "run-2"}, message_id=one, status="failed")
    second = make_run(conn, **task, message_id=one, try_number=2, retry_of=first, status="failed")

    found = runs.find_previous_attempt(conn, **task, message_id=one, upstream_run_id=None)

    assert found == second["id"]
    assert runs.find_previous_attempt(conn, **task, message_id=999, upstream_run_id=None) is None


def test_previous_attempt_without_message_matches_on_upstream_run(conn):
    upstream = make_run(conn, job="register", status="failed")["id"]
    task = {"dag_id": "openfn__demo__alert", "dag_run_id": "run-1", "task_id": "run"}
    cron_like = make_run(conn, **task, trigger="cron", status="failed")["id"]
    chained = make_run(conn, **task, trigger="failure", upstream_run_id=upstream, status="failed")

    assert (
        runs.find_previous_attempt(conn, **task, message_id=None, upstream_run_id=upstream)
        == chained["id"]
    )
    assert (
        runs.find_previous_attempt(conn, **task, message_id=None, upstream_run_id=None) == cron_like
    )


def test_list_runs_newest_first_with_filters(conn):
    a = make_run(conn, job="a", status="success", log="long log")["id"]
    b = make_run(conn, job="b", status="failed")["id"]
    c = make_run(conn, job="a", status="failed")["id"]
    make_run(conn, project="other", job="a")

    assert [r["id"] for r in runs.list_runs(conn, project="demo")] == [c, b, a]
    assert [r["id"] for r in runs.list_runs(conn, project="demo", job="a")] == [c, a]
    assert [r["id"] for r in runs.list_runs(conn, status="failed")] == [c, b]
    assert [r["id"] for r in runs.list_runs(conn, project="demo", limit=1)] == [c]
    assert "log" not in runs.list_runs(conn, job="a")[0]


def test_a_later_attempt_waits_for_the_task_lock_an_earlier_process_holds(conn, db_url):
    """A task process holds its task instance's lock while it runs; another gets it only after."""
    import threading

    import psycopg

    key = "openfn-task:openfn__demo__register:run-1:run:-1"
    process = psycopg.connect(db_url, row_factory=dict_row)  # the earlier attempt's
    assert runs.try_task_lock(process, key)
    process.commit()  # the lock is the session's: it outlives the transaction
    with psycopg.connect(db_url, row_factory=dict_row) as other:
        assert not runs.try_task_lock(other, key)
        assert runs.try_task_lock(other, "openfn-task:openfn__demo__register:run-2:run:-1")
        taken = threading.Event()

        def wait() -> None:
            runs.wait_task_lock(other, key)
            taken.set()

        waiter = threading.Thread(target=wait)
        waiter.start()
        assert not taken.wait(0.5)
        process.close()  # the process ends, and its session with it
        assert taken.wait(10)
        waiter.join()


def test_the_failure_callback_leaves_runs_to_a_task_process_that_still_runs(conn, db_url):
    """Airflow may give up on a task whose process still runs (lost heartbeat): its runs stay
    running until it records them; once it is gone, the callback reports them lost."""
    from types import SimpleNamespace

    import psycopg

    from openfn_airflow.dags.operators import mark_unfinished_runs, task_lock_key

    ti = SimpleNamespace(dag_id="openfn__demo__echo", run_id="run-7", task_id="run", map_index=-1)
    run = make_run(conn, dag_id=ti.dag_id, dag_run_id=ti.run_id, task_id="run", try_number=1)
    conn.commit()
    assert run["status"] == "running"
    with psycopg.connect(db_url, row_factory=dict_row) as process:  # the task process
        assert runs.try_task_lock(process, task_lock_key(ti))
        process.commit()
        mark_unfinished_runs({"ti": ti})
        assert runs.get_run(conn, run["id"])["status"] == "running"
    mark_unfinished_runs({"ti": ti})  # the process is gone, and its lock with it
    conn.rollback()
    lost = runs.get_run(conn, run["id"])
    assert (lost["status"], lost["exit_code"]) == ("crashed", 5)
