"""The projects API: the list (inbox URLs for editors only), usage per day and the queue."""

from __future__ import annotations

import pytest
from factories import make_message, make_run
from plugin_helpers import API, ago, created

pytestmark = pytest.mark.integration


def test_projects_show_inbox_urls_only_to_editors(admin, editor, viewer, registry):
    [inbox_id] = [
        row["inbox_id"]
        for row in registry.execute("SELECT inbox_id::text FROM openfn_project WHERE name = 'core'")
    ]

    def core(client) -> dict:
        items = client.get(f"{API}/projects").json()["items"]
        assert [item["name"] for item in items] == sorted(item["name"] for item in items)
        [project] = [item for item in items if item["name"] == "core"]
        return project

    for client in (admin, editor):
        assert core(client)["inbox_url"] == f"http://testserver/openfn/inbox/{inbox_id}"
    assert core(viewer)["inbox_url"] is None
    assert inbox_id not in viewer.get(f"{API}/projects").text


def test_usage_counts_runs_per_day_by_status_over_12_months(viewer, registry):
    for status in ("success", "success", "failed"):
        make_run(registry, project="core", job="intake", status=status)
    yesterday = make_run(registry, project="core", job="intake", status="crashed")["id"]
    created(registry, yesterday, ago(days=1))
    too_old = make_run(registry, project="core", job="intake", status="success")["id"]
    created(registry, too_old, ago(days=366))
    last_month = make_run(registry, project="core", job="intake", status="success")["id"]
    created(registry, last_month, ago(days=45))
    make_run(registry, project="other", job="intake", status="success")
    registry.commit()

    usage = viewer.get(f"{API}/projects/core/usage").json()
    days = usage["days"]
    assert len(days) == 365 and days[0]["day"] == usage["since"]
    assert days[-1]["runs"] == {"success": 2, "failed": 1} and days[-1]["total"] == 3
    assert days[-2]["runs"] == {"crashed": 1}
    assert sum(day["total"] for day in days) == 5
    assert days[-46]["runs"] == {"success": 1}
    pace = usage["pace"]
    assert pace["month"] == days[-1]["day"][:7]
    assert pace["runs_so_far"] == sum(d["total"] for d in days if d["day"][:7] == pace["month"])
    assert pace["projected"] >= pace["runs_so_far"] >= 3
    assert viewer.get(f"{API}/projects/nope/usage").status_code == 404


def test_the_queue_counts_what_waits_and_runs(viewer, registry, no_retry_dag_runs):
    message_id = make_message(registry, project="core", body={"kind": "bulk"})["id"]
    registry.execute(
        "INSERT INTO openfn_dispatch (message_id, project, trigger) VALUES (%s, 'core', 'bulk')",
        [message_id],
    )
    registry.execute(
        "INSERT INTO openfn_run (project, job, trigger, message_id, status) "
        "VALUES ('core', 'bulk', 'message', %s, 'pending')",
        [message_id],
    )
    make_run(registry, project="core", job="intake", status="running")
    registry.commit()
    from airflow.utils.session import create_session

    from openfn_airflow.dags.retries import retry_runs

    def queue() -> dict:
        return viewer.get(f"{API}/projects/core/usage").json()["queue"]

    before = queue()
    assert before["pending_runs"] == 1 and before["running_runs"] == 1
    assert before["undispatched"] == 1
    with create_session() as session:  # one more queued DAG run of a core job, as retries make
        retry_runs(
            session,
            [
                {
                    "id": 1,
                    "project": "core",
                    "job": "intake",
                    "dag_id": None,
                    "has_initial_state": True,
                }
            ],
            user_name="test",
        )
    after = queue()
    assert after["dag_runs_queued"] == before["dag_runs_queued"] + 1
    assert after["dag_runs_running"] == before["dag_runs_running"]
