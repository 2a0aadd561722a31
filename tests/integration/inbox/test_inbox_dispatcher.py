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
        "SELECT e.extra::jsonb -> 'message_ids' AS message_ids, e.partition_key "
        "FROM asset_event AS e JOIN asset AS a ON a.id = e.asset_id "
        "WHERE a.uri = %s ORDER BY e.id",
        [trigger_asset_uri(PROJECT, trigger)],
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
    # per-message job: one event per message, each with its own partition key
    registered = events(autocommit, "patients")
    assert sorted(i for e in registered for i in e["message_ids"]) == per_message
    assert len({e["partition_key"] for e in registered}) == 60
    # batched job: one pending ledger run per message, one event per batch
    runs = autocommit.execute(
        "SELECT message_id FROM openfn_run WHERE job = 'batch' AND status = 'pending' "
        "ORDER BY message_id"
    ).fetchall()
    assert [r["message_id"] for r in runs] == batched
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
