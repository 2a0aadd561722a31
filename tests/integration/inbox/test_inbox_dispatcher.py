"""The dispatcher turns dispatch rows into Airflow asset events exactly once, and waits for
assets Airflow does not know yet. Real Airflow tables (DAGs synced as ``dag.test()`` does)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from factories import make_message
from inbox_helpers import PROJECT, airflow_dags, autocommit, post, registry

from openfn_airflow.inbox.dispatcher import Dispatcher, trigger_asset_uri

# The temporary DAGs folder the integration conftest made (dags/ plus the test projects).
DAGS_FOLDER = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
__all__ = ["airflow_dags", "autocommit", "registry"]

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_dags", "registry")]


def _forget_inbox_events(conn) -> None:
    conn.execute(
        "DELETE FROM asset_partition_dag_run WHERE target_dag_id LIKE 'openfn\\_\\_inbox\\_\\_%%'"
    )
    conn.execute(
        "DELETE FROM asset_dag_run_queue WHERE target_dag_id LIKE 'openfn\\_\\_inbox\\_\\_%%'"
    )
    conn.execute(
        "DELETE FROM asset_event WHERE asset_id IN "
        "(SELECT id FROM asset WHERE uri LIKE 'openfn://inbox/%%')"
    )


@pytest.fixture(autouse=True)
def _forget_events(autocommit):
    """No asset events of the inbox project before or after each test: message ids restart at 1
    in every test (earlier modules' events would name the same ids), and later tests (and a
    scheduler started by another module) must not see this test's events."""
    _forget_inbox_events(autocommit)
    yield
    _forget_inbox_events(autocommit)


def events(conn, trigger: str) -> list[dict]:
    return conn.execute(
        "SELECT e.extra::jsonb -> 'message_ids' AS message_ids, e.partition_key, "
        "coalesce((e.extra::jsonb ->> 'queued')::boolean, false) AS queued "
        "FROM asset_event AS e JOIN asset AS a ON a.id = e.asset_id "
        "WHERE a.uri = %s ORDER BY e.id",
        [trigger_asset_uri(PROJECT, trigger)],
    ).fetchall()


def queued_runs(conn, job: str) -> list[dict]:
    """The job's pending ledger runs (its queue), oldest first."""
    return conn.execute(
        "SELECT message_id FROM openfn_run WHERE project = %s AND job = %s "
        "AND status = 'pending' ORDER BY id",
        [PROJECT, job],
    ).fetchall()


def pending(conn) -> list[dict]:
    return conn.execute(
        "SELECT * FROM openfn_dispatch WHERE dispatched_at IS NULL ORDER BY id"
    ).fetchall()


def test_two_dispatchers_racing_schedule_each_message_exactly_once(autocommit):
    per_message = [post(autocommit, {"form": "patient", "n": i})["message_id"] for i in range(60)]
    batched = [post(autocommit, {"form": "batch", "n": i})["message_id"] for i in range(15)]
    dispatchers = [Dispatcher(batch_size=7, sync_registry=False) for _ in range(2)]
    start = threading.Barrier(2)
    claimed: list[int] = []
    failures: list[BaseException] = []

    def run(dispatcher: Dispatcher) -> None:
        try:
            start.wait()
            claimed.append(dispatcher.dispatch_pending())
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert failures == []
    assert sum(claimed) == 75 and all(claimed), claimed  # both took part, no row twice
    assert pending(autocommit) == []
    # auto job: while few of its DAG runs wait, one event per message, each with its own
    # partition key; past the threshold the rest join its queue. Each message exactly once.
    registered = events(autocommit, "patients")
    one_each = [e["message_ids"] for e in registered if not e["queued"]]
    assert all(len(ids) == 1 for ids in one_each)
    assert len({e["partition_key"] for e in registered}) == len(registered)
    queued = [r["message_id"] for r in queued_runs(autocommit, "register")]
    assert sorted([i for [i] in one_each] + queued) == per_message
    # batched job: one pending ledger run per message, one event per batch
    assert sorted(r["message_id"] for r in queued_runs(autocommit, "batch")) == batched
    batches = events(autocommit, "batches")
    assert sorted(i for e in batches for i in e["message_ids"]) == batched
    assert all(e["partition_key"] is None for e in batches)


def test_a_dispatch_for_an_asset_not_parsed_yet_stays_pending_and_is_retried(autocommit):
    message = make_message(autocommit, project=PROJECT, body={"form": "new"})
    autocommit.execute(
        "INSERT INTO openfn_dispatch (message_id, project, trigger) VALUES (%s, %s, 'new-form')",
        [message["id"], PROJECT],
    )
    dispatcher = Dispatcher(batch_size=10, sync_registry=False)

    assert dispatcher.dispatch_batch() == 1
    [row] = pending(autocommit)
    assert row["attempts"] == 1 and "not active" in row["last_error"]
    waited = autocommit.execute("SELECT %s - now() AS delay", [row["not_before"]]).fetchone()
    assert waited["delay"].total_seconds() > 1
    assert dispatcher.dispatch_batch() == 0  # not due yet

    autocommit.execute("UPDATE openfn_dispatch SET not_before = now()")
    assert dispatcher.dispatch_batch() == 1
    [row] = pending(autocommit)
    assert row["attempts"] == 2  # retried, with a longer delay, never dropped

    _activate_asset(trigger_asset_uri(PROJECT, "new-form"))  # the dag-processor parsed it
    autocommit.execute("UPDATE openfn_dispatch SET not_before = now()")
    assert dispatcher.dispatch_batch() == 1
    assert pending(autocommit) == []
    done = autocommit.execute("SELECT attempts, last_error FROM openfn_dispatch").fetchone()
    assert done == {"attempts": 3, "last_error": None}


def _activate_asset(uri: str) -> None:
    from airflow.models.asset import AssetActive, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        asset = AssetModel(uri=uri, name=uri, group="asset")
        session.add(asset)
        session.flush()
        session.add(AssetActive.for_asset(asset))


def test_thread_wakes_on_notify_syncs_the_registry_and_indexes(autocommit):
    autocommit.execute("DELETE FROM openfn_trigger")  # the thread's first sync brings them back
    autocommit.execute("UPDATE openfn_project SET spec_hash = NULL")
    unindexed = make_message(autocommit, project=PROJECT, body={"note": "zebra crossing"})
    autocommit.execute(
        "UPDATE openfn_message SET search_vector = NULL WHERE id = %s", [unindexed["id"]]
    )

    # A poll interval far longer than the test: only the inbox's NOTIFY can wake it in time.
    with Dispatcher(poll_interval=60, dags_folder=DAGS_FOLDER):
        deadline = time.monotonic() + 30
        while not autocommit.execute("SELECT FROM openfn_trigger LIMIT 1").fetchall():
            assert time.monotonic() < deadline, "the registry was not synced"
            time.sleep(0.1)
        time.sleep(0.5)  # the thread is now waiting for a NOTIFY
        message_id = post(autocommit, {"form": "patient"})["message_id"]
        while pending(autocommit):
            assert time.monotonic() < deadline, "the dispatch row was not dispatched"
            time.sleep(0.1)

    [event] = events(autocommit, "patients")
    assert event["message_ids"] == [message_id]
    found = autocommit.execute(
        "SELECT id FROM openfn_message WHERE search_vector @@ to_tsquery('simple', 'zebr:*')"
    ).fetchall()
    assert [row["id"] for row in found] == [unindexed["id"]]


def test_stop_ends_the_thread_while_it_waits_for_a_notify():
    """An api-server's shutdown ends its dispatcher even when its poll interval is long: left
    running, the thread went on claiming dispatch rows of whatever used the database next."""

    def dispatchers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "openfn-dispatcher" and t.is_alive()]

    assert dispatchers() == []
    dispatcher = Dispatcher(poll_interval=60, sync_registry=False).start()
    deadline = time.monotonic() + 30
    while not [t for t in dispatchers() if "notifies" in _stack_of(t)]:
        assert time.monotonic() < deadline, "the thread never waited for a NOTIFY"
        time.sleep(0.1)
    dispatcher.stop()
    assert dispatchers() == []


def _stack_of(thread: threading.Thread) -> str:
    """The functions the thread is in now, innermost last."""
    import sys
    import traceback

    frame = sys._current_frames().get(thread.ident or -1)
    return " ".join(entry.name for entry in traceback.extract_stack(frame)) if frame else ""


def _not_started(dag_id: str) -> int:
    from airflow.utils.session import create_session

    from openfn_airflow.airflow_db.dag_runs import dag_runs_not_started

    with create_session() as session:
        return dag_runs_not_started(session, dag_id)


def test_an_auto_job_gets_a_dag_run_per_message_while_quiet_and_queues_them_when_busy(
    autocommit, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__OPENFN__AUTO_THRESHOLD", "4")
    dispatcher = Dispatcher(sync_registry=False)
    quiet = [post(autocommit, {"form": "patient", "n": i})["message_id"] for i in range(3)]

    assert dispatcher.dispatch_pending() == 3

    assert [(e["message_ids"], e["queued"]) for e in events(autocommit, "patients")] == [
        ([i], False) for i in quiet
    ]
    assert _not_started("openfn__inbox__register") == 3  # no scheduler here: none made yet
    assert queued_runs(autocommit, "register") == []

    busy = [post(autocommit, {"form": "patient", "n": i})["message_id"] for i in range(3, 6)]
    assert dispatcher.dispatch_pending() == 3

    # 3 waiting + 3 more is past 4: the messages wait in the job's queue for those 3 DAG runs,
    # and no DAG run more is asked for.
    assert [r["message_id"] for r in queued_runs(autocommit, "register")] == busy
    assert len(events(autocommit, "patients")) == 3


@pytest.mark.parametrize(
    ("status", "made"),
    [
        # A DAG run of the job claimed these from its queue a minute ago and runs them: none
        # waits to start and the queue is empty, but the job is not keeping up.
        pytest.param("running", "1 minute", id="a-batch-of-its-runs-is-under-way"),
        # A burst's cheap batches: these came in the last second and have already run. Nothing
        # waits or runs, the queue is empty; but messages come faster than the threshold.
        pytest.param("success", "0 seconds", id="its-messages-come-fast"),
    ],
)
def test_an_auto_job_stays_batched_while_busy(autocommit, monkeypatch, status, made):
    monkeypatch.setenv("AIRFLOW__OPENFN__AUTO_THRESHOLD", "4")
    dispatcher = Dispatcher(sync_registry=False)
    batch = [post(autocommit, {"form": "patient", "n": i})["message_id"] for i in range(4)]
    autocommit.execute("UPDATE openfn_dispatch SET dispatched_at = now()")
    autocommit.execute(
        "INSERT INTO openfn_run (project, job, trigger, message_id, status, created_at) "
        "SELECT %s, 'register', 'message', id, %s, now() - %s::interval "
        "FROM unnest(%s::bigint[]) AS id",
        [PROJECT, status, made, batch],
    )
    later = post(autocommit, {"form": "patient", "n": 4})["message_id"]

    assert dispatcher.dispatch_pending() == 1

    # It waits in the queue, and one DAG run is asked for to take it.
    assert [r["message_id"] for r in queued_runs(autocommit, "register")] == [later]
    [event] = events(autocommit, "patients")
    assert (event["message_ids"], event["queued"]) == ([later], True)

    # The batch is done and that DAG run ran the queue, a while ago: one DAG run per message.
    autocommit.execute(
        "UPDATE openfn_run SET status = 'success', finished_at = now(), "
        "created_at = now() - interval '1 minute' WHERE project = %s AND job = 'register'",
        [PROJECT],
    )
    _forget_inbox_events(autocommit)
    quiet = post(autocommit, {"form": "patient", "n": 5})["message_id"]
    assert dispatcher.dispatch_pending() == 1
    assert [(e["message_ids"], e["queued"]) for e in events(autocommit, "patients")] == [
        ([quiet], False)
    ]


def test_an_auto_job_queue_no_dag_run_will_take_gets_one(autocommit, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__AUTO_THRESHOLD", "1")
    monkeypatch.setattr("openfn_airflow.inbox.dispatcher.STALLED_QUEUE_SECONDS", 0.0)
    dispatcher = Dispatcher(sync_registry=False)
    ids = [post(autocommit, {"form": "patient", "n": i})["message_id"] for i in range(2)]

    dispatcher.dispatch_pending()

    # Two messages past a threshold of 1: both in the queue, one DAG run asked for to take them.
    assert [r["message_id"] for r in queued_runs(autocommit, "register")] == ids
    [event] = events(autocommit, "patients")
    assert (event["message_ids"], event["queued"]) == (ids, True)
    assert dispatcher.wake_stalled_queues(autocommit) == 0  # that DAG run is still to come

    _forget_inbox_events(autocommit)  # it is lost before it started (deleted, say)
    assert _not_started("openfn__inbox__register") == 0

    assert dispatcher.wake_stalled_queues(autocommit) == 1
    [wake] = events(autocommit, "patients")
    assert (wake["message_ids"], wake["queued"]) == (None, True)
    assert _not_started("openfn__inbox__register") == 1
    assert [r["message_id"] for r in queued_runs(autocommit, "register")] == ids
