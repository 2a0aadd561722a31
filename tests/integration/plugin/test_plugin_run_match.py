"""Run one job on one message by hand, and retry a message's run on the message as it is now."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from factories import make_message, make_run
from plugin_helpers import API

from openfn_airflow.store import runs

pytestmark = pytest.mark.integration

FORGET = (
    "DELETE FROM dag_run WHERE run_id LIKE 'openfn\\_match\\_\\_%%' "
    "OR run_id LIKE 'openfn\\_retry\\_\\_%%'"
)


@pytest.fixture
def dags(registry: Any, core_dags_in_airflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The core DAGs in Airflow, unpaused as the spec says, and no hand-started DAG run left."""
    conn = registry
    conn.execute(FORGET)
    conn.execute(
        "UPDATE dag SET is_paused = false WHERE dag_id IN "
        "('openfn__core__intake', 'openfn__core__not-listening')"
    )
    conn.commit()
    yield core_dags_in_airflow
    conn.rollback()
    conn.execute(FORGET)
    conn.commit()


def hand_runs(conn: Any) -> list[dict[str, Any]]:
    conn.rollback()
    return conn.execute(
        "SELECT dag_id, run_id, run_type, state, conf, triggering_user_name FROM dag_run "
        "WHERE run_id LIKE 'openfn\\_match\\_\\_%%' OR run_id LIKE 'openfn\\_retry\\_\\_%%' "
        "ORDER BY id"
    ).fetchall()


def test_a_message_lists_every_job_whose_trigger_matches_autoprocess_or_not(viewer, registry, dags):
    intake = make_message(registry, project="core", body={"form": "intake"})
    other = make_message(registry, project="core", body={"form": "other"})
    registry.commit()
    page = viewer.get(f"{API}/messages").json()["items"]
    jobs = {item["id"]: [j["job"] for j in item["jobs"]] for item in page}
    assert jobs[intake["id"]] == ["intake", "not-listening"]
    assert jobs[other["id"]] == []
    shown = viewer.get(f"{API}/messages/{intake['id']}").json()["jobs"]
    assert {j["job"]: j["autoprocess"] for j in shown} == {"intake": True, "not-listening": False}


def test_the_play_button_starts_exactly_that_job_on_exactly_that_message(admin, registry, dags):
    conn = registry
    message = make_message(conn, project="core", body={"form": "intake", "name": "Ada"})
    conn.commit()
    answer = admin.post(f"{API}/messages/{message['id']}/jobs/not-listening/run")
    assert answer.status_code == 200, answer.text
    started = answer.json()
    assert started["job"] == "not-listening" and started["dag_id"] == "openfn__core__not-listening"
    [dag_run] = hand_runs(conn)
    assert dag_run["dag_id"] == "openfn__core__not-listening"
    assert dag_run["run_id"] == started["dag_run_id"]
    assert dag_run["run_type"] == "manual" and dag_run["state"] == "queued"
    assert dag_run["conf"] == {"message_id": message["id"]}
    assert dag_run["triggering_user_name"] == "admin"
    # No other job got a run, and nothing was delivered to the trigger again.
    assert (
        conn.execute(
            "SELECT count(*) AS n FROM openfn_dispatch WHERE message_id = %s", [message["id"]]
        ).fetchone()["n"]
        == 0
    )

    # That DAG run, executed, is one ledger run of that job on that message's body.
    dags["openfn__core__not-listening"].test(run_conf=dag_run["conf"])
    conn.rollback()
    [run] = runs.list_runs(conn, job="not-listening")
    row = runs.get_run(conn, run["id"])
    assert row["message_id"] == message["id"] and row["status"] == "success"
    assert row["initial_state"]["data"] == {"form": "intake", "name": "Ada"}


def test_a_job_whose_trigger_does_not_match_or_that_is_off_is_refused(
    admin, viewer, registry, dags
):
    conn = registry
    message = make_message(conn, project="core", body={"form": "other"})
    matching = make_message(conn, project="core", body={"form": "intake"})
    conn.commit()
    refused = admin.post(f"{API}/messages/{message['id']}/jobs/intake/run")
    assert refused.status_code == 404 and "matches" in refused.json()["detail"]
    assert admin.post(f"{API}/messages/{matching['id']}/jobs/nope/run").status_code == 404
    assert admin.post(f"{API}/messages/999999/jobs/intake/run").status_code == 404
    assert viewer.post(f"{API}/messages/{matching['id']}/jobs/intake/run").status_code == 403
    conn.execute("UPDATE dag SET is_paused = true WHERE dag_id = 'openfn__core__intake'")
    conn.commit()
    off = admin.post(f"{API}/messages/{matching['id']}/jobs/intake/run")
    assert off.status_code == 409 and "switch it on" in off.json()["detail"]
    assert hand_runs(conn) == []


def test_a_cross_site_page_cannot_start_a_job(airflow_app, registry, dags):
    from fastapi.testclient import TestClient
    from plugin_helpers import token_for

    conn = registry
    message = make_message(conn, project="core", body={"form": "intake"})
    conn.commit()
    browser = TestClient(airflow_app, cookies={"_token": token_for(airflow_app, "admin")})
    answer = browser.post(
        f"{API}/messages/{message['id']}/jobs/intake/run",
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status_code == 403
    assert hand_runs(conn) == []


def test_retry_with_the_message_as_it_is_now_starts_from_the_edited_body(admin, registry, dags):
    conn = registry
    message = make_message(conn, project="core", body={"form": "intake", "name": "Ad"})
    old = make_run(
        conn,
        project="core",
        job="not-listening",
        trigger="manual",
        message_id=message["id"],
        status="failed",
        initial_state={"data": {"form": "intake", "name": "Ad"}, "references": []},
    )["id"]
    conn.commit()
    edited = admin.put(
        f"{API}/messages/{message['id']}", json={"body": {"form": "intake", "name": "Ada"}}
    )
    assert edited.status_code == 200, edited.text

    as_run = admin.post(f"{API}/messages/{message['id']}/runs/{old}/retry", json={})
    now = admin.post(
        f"{API}/messages/{message['id']}/runs/{old}/retry", json={"message": "current"}
    )
    assert as_run.status_code == 200 and now.status_code == 200, (as_run.text, now.text)
    first, second = hand_runs(conn)
    assert first["conf"] == {"retry_of": old}
    assert second["conf"] == {"retry_of": old, "message": "current"}

    dags["openfn__core__not-listening"].test(run_conf=second["conf"])
    dags["openfn__core__not-listening"].test(run_conf=first["conf"])
    conn.rollback()
    retried = [runs.get_run(conn, r["id"]) for r in runs.list_runs(conn, job="not-listening")]
    by_name = {row["initial_state"]["data"]["name"]: row for row in retried if row["retry_of"]}
    assert set(by_name) == {"Ada", "Ad"}  # the current body, and the run's own initial state
    assert by_name["Ada"]["message_id"] == message["id"]
    assert by_name["Ada"]["initial_state"]["request"]["headers"] is not None


def test_retry_of_a_run_of_another_message_is_not_found(admin, registry, dags):
    conn = registry
    one = make_message(conn, project="core", body={"form": "intake"})
    two = make_message(conn, project="core", body={"form": "intake"})
    run_id = make_run(
        conn, project="core", job="not-listening", message_id=one["id"], status="failed"
    )["id"]
    conn.commit()
    answer = admin.post(f"{API}/messages/{two['id']}/runs/{run_id}/retry", json={})
    assert answer.status_code == 404
    assert hand_runs(conn) == []


def test_a_delivery_waiting_in_airflow_is_shown_queued_until_its_run_starts(
    admin, viewer, registry, dags
):
    from openfn_airflow.inbox.dispatcher import Dispatcher

    conn = registry
    message = make_message(conn, project="core", body={"form": "intake"})
    conn.commit()
    assert viewer.get(f"{API}/messages/{message['id']}").json()["waiting"] == []

    # Processed and dispatched: the asset event exists, the scheduler has made no DAG run yet.
    assert admin.post(f"{API}/messages/{message['id']}/process").json()["matched"] == ["forms"]
    # The api-server's own dispatcher thread may be the one that registers the event.
    dispatcher = Dispatcher(sync_registry=False)
    for _ in range(100):
        dispatcher.dispatch_batch()
        conn.rollback()
        row = conn.execute(
            "SELECT bool_and(dispatched_at IS NOT NULL) AS done FROM openfn_dispatch "
            "WHERE message_id = %s",
            [message["id"]],
        ).fetchone()
        if row["done"]:
            break
        time.sleep(0.1)
    assert row["done"]
    shown = viewer.get(f"{API}/messages/{message['id']}").json()
    assert shown["waiting"] == [
        {"dag_id": "openfn__core__intake", "dag_run_id": None, "state": "queued"}
    ]
    [listed] = [
        item
        for item in viewer.get(f"{API}/messages").json()["items"]
        if item["id"] == message["id"]
    ]
    assert listed["waiting"] == shown["waiting"]

    # Started by hand: its queued DAG run is shown, with its id, until a ledger run records it.
    conn.rollback()
    conn.execute("DELETE FROM openfn_dispatch WHERE message_id = %s", [message["id"]])
    conn.commit()
    started = admin.post(f"{API}/messages/{message['id']}/jobs/not-listening/run").json()
    waiting = viewer.get(f"{API}/messages/{message['id']}").json()["waiting"]
    assert waiting == [
        {
            "dag_id": "openfn__core__not-listening",
            "dag_run_id": started["dag_run_id"],
            "state": "queued",
        }
    ]
    make_run(
        conn,
        project="core",
        job="not-listening",
        message_id=message["id"],
        status="running",
        dag_id="openfn__core__not-listening",
        dag_run_id=started["dag_run_id"],
    )
    conn.commit()
    assert viewer.get(f"{API}/messages/{message['id']}").json()["waiting"] == []
