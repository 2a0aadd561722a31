"""The messages API: filters, pagination, counts, one message, edits, processing, reprocess."""

from __future__ import annotations

import pytest
from factories import make_message, make_run
from plugin_helpers import API, ago, received

pytestmark = pytest.mark.integration


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def message(conn, body, project="core", **fields) -> int:
    return make_message(conn, project=project, body=body, **fields)["id"]


def test_a_message_has_the_fields_of_the_design(viewer, registry):
    message_id = message(registry, {"form": "intake", "name": "Ada"}, headers={"x-a": "1"})
    registry.commit()
    [item] = viewer.get(f"{API}/messages").json()["items"]
    assert item["id"] == message_id and item["project"] == "core"
    assert item["body"] == {"form": "intake", "name": "Ada"}
    assert item["headers"] == {"x-a": "1"}
    assert item["received_at"] and item["matched"] == [] and item["latest_run"] is None


def test_body_text_search_matches_word_prefixes_all_required(viewer, registry):
    ada = message(registry, {"name": "Ada Lovelace", "city": "London"})
    grace = message(registry, {"name": "Grace Hopper", "city": "New York", "rank": 1906})
    message(registry, {"name": "Alan Turing", "note": "lovely"})
    registry.commit()

    def search(q: str) -> list[int]:
        return ids(viewer.get(f"{API}/messages", params={"q": q}))

    assert search("lovelace") == [ada]
    assert search("Lov lond") == [ada]  # prefixes, case-insensitive, all words required
    assert sorted(search("lov")) == sorted([ada, 3])
    assert search("190") == [grace]  # numbers are values too
    assert search("name") == []  # keys are not searched, only values
    assert search("ada hopper") == []


@pytest.mark.parametrize("q", ["'", "a & b | !c", "x:*", "\\", "(((", "'; DROP TABLE x; --"])
def test_search_text_is_never_tsquery_syntax(viewer, registry, q):
    message(registry, {"text": "a b c x"})
    registry.commit()
    answer = viewer.get(f"{API}/messages", params={"q": q})
    assert answer.status_code == 200, answer.text


def test_the_date_window_defaults_to_the_last_30_days(viewer, registry):
    old = message(registry, {"n": "old"})
    week = message(registry, {"n": "week"})
    new = message(registry, {"n": "new"})
    received(registry, old, ago(days=31))
    received(registry, week, ago(days=6))
    registry.commit()

    assert ids(viewer.get(f"{API}/messages")) == [new, week]
    assert ids(viewer.get(f"{API}/messages", params={"received_after": "7d"})) == [new, week]
    assert ids(viewer.get(f"{API}/messages", params={"received_after": "24h"})) == [new]
    assert ids(viewer.get(f"{API}/messages", params={"received_after": "all"})) == [new, week, old]
    before = ago(days=2).date().isoformat()
    assert ids(
        viewer.get(f"{API}/messages", params={"received_after": "all", "received_before": before})
    ) == [week, old]
    since = ago(days=40).strftime("%Y-%m-%d %H:%M:%S")  # OpenFn v1's typed format
    assert ids(viewer.get(f"{API}/messages", params={"received_after": since})) == [new, week, old]


def test_a_bad_time_or_parameter_is_refused_with_the_reason(viewer, clean_db):
    answer = viewer.get(f"{API}/messages", params={"received_after": "yesterday"})
    assert answer.status_code == 422 and "7d" in answer.text
    assert viewer.get(f"{API}/messages", params={"status": "failed"}).status_code == 422
    assert viewer.get(f"{API}/messages", params={"limit": 501}).status_code == 422


def test_trigger_filter_uses_the_triggers_criteria_and_exclusion(viewer, registry):
    registry.execute(
        "UPDATE openfn_trigger SET exclude = '{\"test\": true}' "
        "WHERE project = 'core' AND name = 'forms'"
    )
    intake = message(registry, {"form": "intake", "n": 1})
    message(registry, {"form": "intake", "test": True})  # excluded
    message(registry, {"form": "other"})
    message(registry, {"form": "intake"}, project="elsewhere")
    registry.commit()

    answer = viewer.get(f"{API}/messages", params={"project": "core", "trigger": "forms"})
    assert ids(answer) == [intake]
    unknown = viewer.get(f"{API}/messages", params={"project": "core", "trigger": "nope"})
    assert unknown.status_code == 400 and "nope" in unknown.json()["detail"]
    assert viewer.get(f"{API}/messages", params={"trigger": "forms"}).status_code == 400


def test_run_state_looks_at_the_latest_run(viewer, registry):
    failed_then_ok = message(registry, {"n": 1})
    failed = message(registry, {"n": 2})
    crashed = message(registry, {"n": 3})
    untouched = message(registry, {"n": 4})
    make_run(registry, project="core", job="intake", message_id=failed_then_ok, status="failed")
    make_run(registry, project="core", job="intake", message_id=failed_then_ok, status="success")
    make_run(registry, project="core", job="intake", message_id=failed, status="failed")
    make_run(registry, project="core", job="other", message_id=failed, status="success")
    make_run(registry, project="core", job="intake", message_id=crashed, status="crashed")
    registry.commit()

    def state(**params) -> list[int]:
        return ids(viewer.get(f"{API}/messages", params=params))

    assert state(run_state="success") == [failed, failed_then_ok]  # failed's latest is "other"
    assert state(run_state="failed") == [crashed]
    assert state(run_state="failed", job="intake") == [crashed, failed]
    assert state(run_state="none") == [untouched]
    assert state(run_state="none", job="other") == [untouched, crashed, failed_then_ok]
    latest = viewer.get(f"{API}/messages/{failed}").json()["latest_run"]
    assert latest["job"] == "other" and latest["status"] == "success"


def test_keyset_pagination_walks_every_message_once_newest_first(viewer, registry):
    made = [message(registry, {"n": n}) for n in range(7)]
    registry.commit()
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"before_id": cursor} if cursor else {})}
        page = viewer.get(f"{API}/messages", params=params).json()
        assert page["total"] == 7 and page["total_capped"] is False
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)


def test_the_total_is_capped_at_10000(viewer, registry):
    registry.execute(
        "INSERT INTO openfn_message (project, body) "
        "SELECT 'core', jsonb_build_object('n', n) FROM generate_series(1, 10001) AS n"
    )
    registry.commit()
    page = viewer.get(f"{API}/messages", params={"limit": 2}).json()
    assert page["total"] is None and page["total_capped"] is True
    assert len(page["items"]) == 2 and page["next"] == page["items"][-1]["id"]
    exact = viewer.get(f"{API}/messages", params={"to_id": 10000, "limit": 1}).json()
    assert exact["total"] == 10000 and exact["total_capped"] is False


def test_one_message_with_its_runs_deliveries_and_matches(viewer, registry):
    message_id = message(registry, {"form": "intake", "name": "Ada"})
    run = make_run(registry, project="core", job="intake", message_id=message_id, status="success")
    registry.execute(
        "INSERT INTO openfn_dispatch (message_id, project, trigger, dispatched_at) "
        "VALUES (%s, 'core', 'forms', now())",
        [message_id],
    )
    registry.commit()
    answer = viewer.get(f"{API}/messages/{message_id}").json()
    assert answer["matched"] == ["forms"]
    assert answer["matches_now"] == ["forms"]  # intake (on, autoprocess) listens to it
    assert [r["id"] for r in answer["runs"]] == [run["id"]]
    assert answer["dispatches"][0]["trigger"] == "forms"
    assert answer["versions"] == []
    assert viewer.get(f"{API}/messages/999999").status_code == 404


def test_an_edit_keeps_the_previous_body_with_who_and_when(admin, viewer, registry):
    message_id = message(registry, {"name": "Ada", "city": "Londn"})
    registry.commit()
    first = admin.put(
        f"{API}/messages/{message_id}", json={"body": {"name": "Ada", "city": "London"}}
    )
    assert first.status_code == 200 and first.json()["changed"] is True
    same = admin.put(
        f"{API}/messages/{message_id}", json={"body": {"name": "Ada", "city": "London"}}
    )
    assert same.json() == {"id": message_id, "changed": False, "version_id": None}

    shown = viewer.get(f"{API}/messages/{message_id}").json()
    assert shown["body"] == {"name": "Ada", "city": "London"}
    [version] = shown["versions"]
    assert version["body"] == {"name": "Ada", "city": "Londn"}
    assert version["changed_by"] == "admin" and version["changed_at"]
    # The search index follows the edit at once.
    assert ids(viewer.get(f"{API}/messages", params={"q": "london"})) == [message_id]
    assert ids(viewer.get(f"{API}/messages", params={"q": "londn"})) == []
    assert admin.put(f"{API}/messages/999999", json={"body": {}}).status_code == 404


def dispatches(conn) -> list[tuple[int, str]]:
    conn.rollback()
    rows = conn.execute("SELECT message_id, trigger FROM openfn_dispatch ORDER BY id").fetchall()
    return [(row["message_id"], row["trigger"]) for row in rows]


def test_processing_a_message_delivers_it_to_its_listening_triggers(admin, registry):
    intake = message(registry, {"form": "intake"})
    nothing = message(registry, {"form": "unknown"})
    registry.commit()
    answer = admin.post(f"{API}/messages/{intake}/process")
    assert answer.status_code == 200 and answer.json() == {
        "message_id": intake,
        "matched": ["forms"],
    }
    assert admin.post(f"{API}/messages/{nothing}/process").json()["matched"] == []
    assert dispatches(registry) == [(intake, "forms")]
    assert admin.post(f"{API}/messages/999999/process").status_code == 404


def test_reprocess_counts_first_then_queues_exactly_that_in_received_order(admin, registry):
    bulk = [message(registry, {"kind": "bulk", "n": n}) for n in range(3)]
    intake = message(registry, {"form": "intake"})
    message(registry, {"form": "nobody-listens"})
    old = message(registry, {"form": "intake", "old": True})
    received(registry, old, ago(days=45))
    registry.commit()

    dry = admin.post(f"{API}/messages/reprocess", json={"dry_run": True, "project": "core"})
    assert dry.json() == {"dry_run": True, "count": 5, "dispatches": 4, "messages_with_matches": 4}
    assert dispatches(registry) == []

    done = admin.post(f"{API}/messages/reprocess", json={"project": "core"})
    assert done.json() == {
        "dry_run": False,
        "count": 5,
        "dispatches": 4,
        "messages_with_matches": 4,
    }
    assert dispatches(registry) == [*((i, "bulk") for i in bulk), (intake, "forms")]


def test_reprocess_takes_an_id_range_and_the_list_filters(admin, registry):
    made = [message(registry, {"form": "intake", "n": n}) for n in range(5)]
    registry.commit()
    body = {"from_id": made[1], "to_id": made[3], "q": "intake", "trigger": "forms"}
    answer = admin.post(f"{API}/messages/reprocess", json={**body, "project": "core"})
    assert answer.json()["count"] == 3
    assert [m for m, _ in dispatches(registry)] == made[1:4]


def test_reprocess_skips_jobs_that_are_off_or_do_not_autoprocess(admin, registry):
    # Off is its DAG paused; a DAG Airflow has not parsed (in this session, maybe) will be
    # created as the spec's enabled says.
    registry.execute(
        "UPDATE openfn_job SET enabled = false WHERE project = 'core' AND name = 'bulk'"
    )
    was = registry.execute(
        "SELECT is_paused FROM dag WHERE dag_id = 'openfn__core__bulk'"
    ).fetchone()
    registry.execute("UPDATE dag SET is_paused = true WHERE dag_id = 'openfn__core__bulk'")
    message(registry, {"kind": "bulk"})
    registry.commit()
    try:
        answer = admin.post(f"{API}/messages/reprocess", json={"project": "core"}).json()
    finally:
        if was is not None:
            registry.execute(
                "UPDATE dag SET is_paused = %s WHERE dag_id = 'openfn__core__bulk'",
                [was["is_paused"]],
            )
            registry.commit()
    assert answer["count"] == 1 and answer["dispatches"] == 0
    assert dispatches(registry) == []


def test_a_count_that_takes_too_long_leaves_the_page_whole(viewer, registry, monkeypatch):
    from factories import make_message

    from openfn_airflow.store import message_search
    from openfn_airflow.store.errors import StatementTimedOut

    ids = [make_message(registry, project="core", body={"n": n})["id"] for n in range(3)]
    registry.commit()

    def too_slow(*args, **kwargs):
        assert kwargs["budget_ms"] > 0
        raise StatementTimedOut("count_messages took longer than 100 ms")

    monkeypatch.setattr(message_search, "count_messages", too_slow)
    page = viewer.get(f"{API}/messages", params={"limit": 2}).json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    assert page["total"] is None and page["total_timed_out"] is True
    assert page["total_capped"] is False and page["next"] == ids[1]
