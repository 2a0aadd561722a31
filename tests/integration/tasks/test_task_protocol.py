"""The job task's protocol on the real PostgreSQL, without a scheduler: what each attempt runs.

Each case stands for one a scheduler test reaches by killing processes or clearing tasks in
Airflow (tests/integration/faults, tests/integration/dags/test_scheduled_runs.py); here the
attempts are called directly with the values the operator would hand them.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from functools import partial

import pytest
from factories import make_message
from task_helpers import (
    FAKE_RAN_WITH,
    FakeEngine,
    Gate,
    identity,
    job_task,
    ledger,
    on_messages,
    queue,
    result,
)

from openfn_airflow.runtime.engines import JobCode, python_ran_with
from openfn_airflow.store import runs
from openfn_airflow.store.database import connect_patiently
from openfn_airflow.tasks import TaskTrigger, runs_key

pytestmark = pytest.mark.integration

SECRET = "s3cret-pa55"
ECHO_JOB = (
    "from openfn_airflow.runtime import fn\n\n"
    "operations = [fn(lambda state: {**state, 'echoed': state['data']['name'],"
    " 'token': state['configuration']['password']})]\n"
)


def messages(conn, count: int) -> list[int]:
    ids = [make_message(conn, project="demo", body={"n": n})["id"] for n in range(count)]
    conn.commit()
    return ids


def test_a_message_runs_on_the_python_engine_and_the_ledger_says_what_ran_it(
    conn, clean_db, connect, tmp_path
):
    job = tmp_path / "echo.py"
    job.write_text(ECHO_JOB)
    message_id = make_message(conn, project="demo", body={"name": "Ada"})["id"]
    conn.commit()
    task = job_task(
        connect,
        code=JobCode(str(job)),
        credential="api",
        load_configuration=lambda name: {"password": SECRET},
    )

    outcome = task.run(identity(), on_messages([message_id]))

    [row] = ledger(conn)
    assert outcome.ledger_ids == [row["id"]] and outcome.failures == []
    assert (row["status"], row["exit_code"]) == ("success", 0)
    assert row["ran_with"] == python_ran_with()
    assert row["ran_with"].startswith("Python 3.") and "Airflow 3." in row["ran_with"]
    assert row["log"].startswith(f"Ran with {row['ran_with']}\n")
    assert row["final_state"]["echoed"] == "Ada"
    assert row["final_state"]["token"] == "***"  # the credential reached the job, not the ledger
    assert SECRET not in repr(row)


def _lost_attempt(db_url: str, ids: list[int]) -> None:
    """Attempt 1 in a process of its own that dies in the middle of the second run."""

    def job(state):
        if state["data"]["n"] == 1:
            os._exit(9)  # killed: out of memory, or its worker lost
        return result(0, {**state, "ran": True})

    connect = partial(connect_patiently, db_url, wait=5.0)
    job_task(connect, FakeEngine(job), batched=True).run(identity(), on_messages(ids, queued=True))


def test_a_second_attempt_after_a_lost_one_runs_again_only_what_did_not_finish(
    conn, clean_db, connect, db_url
):
    ids = messages(conn, 3)
    queue(conn, ids)
    lost = multiprocessing.get_context("fork").Process(target=_lost_attempt, args=(db_url, ids))
    lost.start()
    lost.join(60)
    assert lost.exitcode == 9
    assert [row["status"] for row in ledger(conn)] == ["success", "running", "running"]

    engine = FakeEngine()
    outcome = job_task(connect, engine, batched=True).run(
        identity(try_number=2, previous_try_state="failed"), on_messages(ids, queued=True)
    )

    first, cut, never, *again = ledger(conn)
    assert (first["status"], first["try_number"]) == ("success", 1)
    for row in (cut, never):  # left running by the dead process: lost, exit 5
        assert (row["status"], row["exit_code"]) == ("crashed", 5)
        assert "task process ended before this run finished" in row["log"]
    assert [state["data"]["n"] for state in engine.states] == [1, 2]  # not the finished one
    assert [row["retry_of"] for row in again] == [cut["id"], never["id"]]
    assert all(row["status"] == "success" and row["try_number"] == 2 for row in again)
    assert outcome.ledger_ids == [row["id"] for row in again] and outcome.failures == []


@pytest.mark.parametrize(
    ("previous", "repeated"), [("success", [0, 1, 2]), ("failed", [1])], ids=["succeeded", "failed"]
)
def test_a_cleared_task_repeats_all_its_runs_after_success_and_the_failed_after_failure(
    conn, clean_db, connect, previous, repeated
):
    ids = messages(conn, 3)
    queue(conn, ids)
    fails_one = previous == "failed"

    def job(state):
        failing = fails_one and state["data"]["n"] == 1
        return result(1 if failing else 0, {**state, "ran": True}, log="422\n" if failing else "")

    first = job_task(connect, FakeEngine(job), batched=True).run(
        identity(), on_messages(ids, queued=True)
    )
    assert len(first.ledger_ids) == 3 and len(first.failures) == int(fails_one)
    assert {row["ran_with"] for row in ledger(conn)} == {FAKE_RAN_WITH}  # claimed rows too

    engine = FakeEngine()
    second = job_task(connect, engine, batched=True).run(
        identity(try_number=2, previous_try_state=previous), on_messages(ids, queued=True)
    )

    rows = ledger(conn)
    retries = rows[3:]
    assert [state["data"]["n"] for state in engine.states] == repeated
    assert [row["retry_of"] for row in retries] == [first.ledger_ids[n] for n in repeated]
    by_id = {row["id"]: row for row in rows}
    assert all(row["initial_state"] == by_id[row["retry_of"]]["initial_state"] for row in retries)
    assert second.ledger_ids == [row["id"] for row in retries]
    assert [row["status"] for row in rows[:3]] == [
        "success",
        "failed" if fails_one else "success",
        "success",
    ]


def test_a_second_attempt_waits_for_the_first_to_end_then_repeats_nothing_it_finished(
    conn, clean_db, connect
):
    [message_id] = messages(conn, 1)
    gate = Gate()
    outcomes: dict[str, object] = {}

    def attempt(name: str, engine: FakeEngine, **task_instance) -> None:
        outcomes[name] = job_task(connect, engine).run(
            identity(**task_instance), on_messages([message_id])
        )

    first = threading.Thread(target=attempt, args=("first", FakeEngine(gate.job)))
    first.start()
    assert gate.reached.wait(10)
    second_engine = FakeEngine()
    # Airflow started the task again (its scheduler died): the first process still runs.
    second = threading.Thread(
        target=attempt,
        args=("second", second_engine),
        kwargs={"try_number": 2, "previous_try_state": "failed"},
    )
    second.start()
    second.join(0.8)
    assert second.is_alive() and second_engine.opened == []  # waiting for the task lock
    assert [row["status"] for row in ledger(conn)] == ["running"]

    gate.opened.set()
    first.join(30)
    second.join(30)
    [row] = ledger(conn)
    assert (row["status"], row["try_number"]) == ("success", 1)
    assert second_engine.states == []  # the run the first attempt finished is not run again
    assert outcomes["second"].ledger_ids == []


KILL_TASK_SESSION = (
    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid <> pg_backend_pid() "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def test_a_run_that_ends_while_the_database_is_away_is_saved_once_it_is_back(
    conn, clean_db, connect, db_url
):
    ids = messages(conn, 2)
    lock_held: list[bool] = []
    key = identity().lock_key

    def job(state):
        with connect_patiently(db_url, wait=5.0) as other:
            if state["data"]["n"] == 0:
                # The task's session ends as in a database restart or failover.
                other.execute(KILL_TASK_SESSION)
                other.commit()
            else:
                lock_held.append(not runs.try_task_lock(other, key))
        return result(0, {**state, "ran": state["data"]["n"]})

    outcome = job_task(connect, FakeEngine(job)).run(identity(), on_messages(ids))

    rows = ledger(conn)
    assert [(row["status"], row["exit_code"]) for row in rows] == [("success", 0)] * 2
    assert [row["final_state"]["ran"] for row in rows] == [0, 1]
    assert outcome.failures == []
    assert lock_held == [True]  # taken again on the new session: later attempts still wait


def test_a_database_that_does_not_come_back_in_time_leaves_the_run_to_the_failure_callback(
    conn, clean_db, connect, db_url
):
    from openfn_airflow.store.errors import DatabaseUnavailable
    from openfn_airflow.tasks import mark_unfinished_runs

    [message_id] = messages(conn, 1)
    calls = 0

    def connect_once():
        # [openfn] database_wait passed without the database: what connect_patiently raises.
        nonlocal calls
        calls += 1
        if calls > 1:
            raise DatabaseUnavailable("the database is unavailable: connection refused")
        return connect()

    def job(state):
        with connect_patiently(db_url, wait=5.0) as other:
            other.execute(KILL_TASK_SESSION)
            other.commit()
        return result(0, state)

    with pytest.raises(DatabaseUnavailable):
        job_task(connect_once, FakeEngine(job)).run(identity(), on_messages([message_id]))
    assert [row["status"] for row in ledger(conn)] == ["running"]

    assert mark_unfinished_runs(connect, identity()) == [ledger(conn)[0]["id"]]
    [row] = ledger(conn)
    assert (row["status"], row["exit_code"]) == ("crashed", 5)


def test_batched_attempts_claim_every_pending_run_once(conn, clean_db, connect):
    ids = messages(conn, 5)
    queue(conn, ids[:3])
    engine = FakeEngine()
    # One DAG run took the first delivery; the second arrived while it ran.
    first = job_task(connect, engine, batched=True).run(
        identity("run-1"), on_messages(ids[:3], queued=True)
    )
    queue(conn, ids[3:])
    second = job_task(connect, engine, batched=True).run(
        identity("run-2"), on_messages(ids[3:], queued=True)
    )
    third = job_task(connect, engine, batched=True).run(
        identity("run-3"), on_messages(ids[3:], queued=True)
    )

    rows = ledger(conn)
    assert [row["message_id"] for row in rows] == ids
    assert [row["dag_run_id"] for row in rows] == ["run-1"] * 3 + ["run-2"] * 2
    assert all(row["status"] == "success" for row in rows)
    assert (len(first.ledger_ids), len(second.ledger_ids), third.ledger_ids) == (3, 2, [])
    assert engine.opened == [None, None]  # an attempt with nothing to run opens no engine
    assert engine.closed == 2  # each session ends with its task


def test_an_engine_that_cannot_start_records_every_run_as_exit_3_with_its_reason(
    conn, clean_db, connect
):
    ids = messages(conn, 2)
    reason = (
        "adaptor @openfn/language-http@9.9.9 is not installed: "
        "run `openfn-airflow adaptors install demo`"
    )
    engine = FakeEngine(could_not_start=reason)

    outcome = job_task(connect, engine).run(identity(), on_messages(ids))

    rows = ledger(conn)
    assert [(row["status"], row["exit_code"]) for row in rows] == [("crashed", 3)] * 2
    assert all(row["log"] == f"Could not start: {reason}\n" for row in rows)
    assert all(row["ran_with"] is None and row["initial_state"]["data"] for row in rows)
    assert len(outcome.failures) == 2 and engine.states == []


def test_a_credential_that_cannot_be_loaded_fails_every_run_without_opening_the_engine(
    conn, clean_db, connect
):
    ids = messages(conn, 2)
    engine = FakeEngine()

    def missing(name: str):
        raise KeyError(f"The conn_id `{name}` isn't defined")

    outcome = job_task(connect, engine, credential="api", load_configuration=missing).run(
        identity(), on_messages(ids)
    )

    rows = ledger(conn)
    assert [row["exit_code"] for row in rows] == [3, 3]
    assert all("credential 'api' could not be loaded: KeyError" in row["log"] for row in rows)
    assert engine.opened == [] and len(outcome.failures) == 2


def test_an_engine_that_fails_to_start_otherwise_records_exit_5_without_its_words(
    conn, clean_db, connect
):
    [message_id] = messages(conn, 1)

    class Broken(FakeEngine):
        def open(self, code, configuration):
            raise RuntimeError(f"cannot use {SECRET}")

    outcome = job_task(connect, Broken()).run(identity(), on_messages([message_id]))

    [row] = ledger(conn)
    assert (row["status"], row["exit_code"]) == ("crashed", 5)
    assert row["log"] == "Unexpected error: the python engine failed to start: RuntimeError\n"
    assert outcome.failures == [f"run {row['id']}: crashed, exit 5"]


def test_an_auto_dag_run_runs_its_own_message_then_at_most_a_batch_of_the_queue_in_order(
    conn, clean_db, connect
):
    own, *waiting = messages(conn, 4)
    queue(conn, waiting)  # queued by the dispatcher after the event of `own` was registered
    engine = FakeEngine()

    first = job_task(connect, engine, batched=True, batch_max=2).run(
        identity("run-1"), on_messages([own])
    )
    second = job_task(connect, engine, batched=True, batch_max=2).run(
        identity("run-2"), on_messages([], queued=True)
    )

    rows = sorted(ledger(conn), key=lambda row: row["started_at"])
    assert [row["message_id"] for row in rows] == [own, *waiting]  # in arrival order
    assert [state["data"]["n"] for state in engine.states] == [0, 1, 2, 3]
    by_dag_run = {row["message_id"]: row["dag_run_id"] for row in rows}
    # Its own message, then two of the queue (batch_max); the next DAG run takes the third.
    assert by_dag_run == {
        own: "run-1",
        waiting[0]: "run-1",
        waiting[1]: "run-1",
        waiting[2]: "run-2",
    }
    assert len(first.ledger_ids) == 3 and len(second.ledger_ids) == 1
    assert all(row["status"] == "success" for row in rows)


def test_a_folded_success_event_starts_one_run_per_upstream_run(conn, clean_db, connect):
    ids = messages(conn, 3)
    upstream = job_task(connect, FakeEngine(), batched=True).run(
        identity("run-1"), on_messages(ids)
    )
    engine = FakeEngine()
    folded = TaskTrigger(
        kind="success",
        run_type="asset_triggered",
        partition_key=runs_key(upstream.ledger_ids),
        event_extras=({"run_ids": upstream.ledger_ids, "outcome": "success"},),
    )

    downstream = job_task(connect, engine, job="after").run(identity("down-1"), folded)

    assert len(downstream.ledger_ids) == 3 and downstream.failures == []
    after = [runs.get_run(conn, i) for i in downstream.ledger_ids]
    assert [row["upstream_run_id"] for row in after] == upstream.ledger_ids
    assert [row["message_id"] for row in after] == ids
    assert [state["data"]["n"] for state in engine.states] == [0, 1, 2]
