"""The OpenFn screens in-process: login redirect, navigation entry, pages and their permissions."""

from __future__ import annotations

import re

import pytest
from seed import seed

pytestmark = pytest.mark.integration

UI = "/openfn/ui"


def test_anonymous_visitors_are_sent_to_log_in_and_get_nothing(anonymous):
    for path in (
        "/inbox?q=ada",
        "/messages/1",
        "/runs",
        "/runs/1",
        "/settings",
        "/jobs?q=intake",
        "/static/openfn.js",
    ):
        answer = anonymous.get(UI + path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/auth/login?next=%2Fopenfn%2Fui%2F"), path


def test_the_openfn_entry_is_in_airflows_navigation(admin):
    token = admin.cookies.get("_token")
    plugins = admin.get("/api/v2/plugins", headers={"Authorization": f"Bearer {token}"}).json()
    [openfn] = [p for p in plugins["plugins"] if p["name"] == "openfn"]
    nav = [v for v in openfn["external_views"] if v["destination"] == "nav"]
    assert nav == [
        {
            "name": "OpenFn",
            "href": f"{UI}/inbox",
            "destination": "nav",
            "url_route": "openfn",
            "nav_top_level": True,
            "icon": f"{UI}/static/openfn.svg",
            "icon_dark_mode": f"{UI}/static/openfn-dark.svg",
            "category": None,
        }
    ]
    assert admin.get(nav[0]["icon"]).headers["content-type"].startswith("image/svg+xml")


def test_every_screen_renders_for_an_admin_with_its_buttons(admin, registry):
    ids = seed(registry)
    for path in (
        "/inbox",
        "/inbox?q=lovelace&received_after=7d&project=core&trigger=forms&run_state=failed",
        f"/messages/{ids['ada']}",
        "/runs?status=failed&status=crashed&job=intake",
        f"/runs/{ids['failed_run']}",
        "/settings?project=core",
        "/jobs?project=core",
    ):
        page = admin.get(UI + path)
        assert page.status_code == 200, (path, page.text[:500])
        assert "data-read-only" not in page.text
        assert " disabled title=" not in page.text.split('<form class="filters"')[0], path


def test_a_viewer_sees_the_screens_with_the_change_buttons_disabled(viewer, registry):
    ids = seed(registry)
    page = viewer.get(f"{UI}/messages/{ids['ada']}").text
    assert "data-read-only" in page
    assert f'data-action="process" data-id="{ids["ada"]}" disabled' in page
    settings = viewer.get(f"{UI}/settings?project=core").text
    assert "inbox-url" not in settings  # the inbox URL is for editors only


def test_bad_filters_and_unknown_ids_say_what_is_wrong(admin, registry):
    page = admin.get(f"{UI}/inbox?received_after=yesterday")
    assert page.status_code == 200 and "is not a time" in page.text
    missing = admin.get(f"{UI}/messages/999999")
    assert missing.status_code == 404 and "Message 999999 not found" in missing.text
    unknown = admin.get(f"{UI}/runs?status=exploded")
    assert "status" in unknown.text and "data-error" in unknown.text


def test_an_airflow_dag_run_tab_opens_its_openfn_run(admin, registry):
    ids = seed(registry)
    answer = admin.get(
        f"{UI}/dag-runs/openfn__core__intake/asset_triggered__2024-05-31T12:00:00+00:00"
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith(
        f"/runs/{ids['failed_run']}"
    )
    other = admin.get(f"{UI}/dag-runs/some_dag/manual__1")
    assert other.status_code == 200 and "No OpenFn run belongs" in other.text


def _job_rows(html: str) -> dict[str, str]:
    """Each job's table row of the Jobs page, by job name."""
    rows = html.split('<tr data-job="')[1:]
    return {row.split('"', 1)[0]: row.split("</tr>", 1)[0] for row in rows}


def test_the_jobs_screen_shows_each_job_with_its_trigger_flags_and_last_run(
    admin, registry, core_dags
):
    ids = seed(registry)
    page = admin.get(f"{UI}/jobs?project=core")
    assert page.status_code == 200, page.text[:500]
    assert 'href="/openfn/ui/jobs" aria-current="page"' in page.text
    jobs = _job_rows(page.text)
    assert {"intake", "counter", "after-success", "bulk", "dry", "quiet"} <= set(jobs)

    intake = jobs["intake"]
    assert "message filter" in intake and "{&#34;form&#34;: &#34;intake&#34;}" in intake
    assert 'href="/openfn/ui/inbox?project=core&amp;trigger=forms" data-matching' in intake
    assert f'href="/openfn/ui/runs/{ids["failed_run"]}"' in intake and "badge failed" in intake
    assert 'data-action="toggle-job" data-dag-id="openfn__core__intake"' in intake
    assert "checked" in intake.split('data-action="toggle-job"')[1].split(">")[0]

    counter = jobs["counter"]
    assert "<code data-cron>* * * * *</code>" in counter and "Every minute (UTC)" in counter
    assert re.search(r"Next in \d+ seconds?:", counter), counter
    assert counter.count("<time ") == 3 + 1  # three next times, and the last run's time
    assert 'data-action="run-now" data-dag-id="openfn__core__counter"' in counter

    assert "after <a" in jobs["after-success"] and ">intake</a> succeeds" in jobs["after-success"]
    assert "batched" in jobs["bulk"] and "run-now" not in jobs["bulk"]
    assert "test mode" in jobs["dry"] and "console off" in jobs["quiet"]
    assert "never run" in jobs["quiet"]
    assert "Run by hand only" in jobs["slow"]
    switched_off = jobs["switched-off"].split('data-action="toggle-job"')[1].split(">")[0]
    assert "checked" not in switched_off  # enabled: false -> the DAG starts paused
    assert '<span class="tag warn">no</span>' in jobs["not-listening"]  # autoprocess off


def test_jobs_are_filtered_by_name_in_the_url_and_listed_by_the_api(admin, registry, core_dags):
    page = admin.get(f"{UI}/jobs?project=core&q=AFTER")
    assert set(_job_rows(page.text)) == {"after-success", "after-failure"}
    assert 'name="q" value="AFTER"' in page.text
    none = admin.get(f"{UI}/jobs?q=nothing-like-this")
    assert "No job's name contains “nothing-like-this”" in none.text

    listed = admin.get("/openfn/api/v1/jobs", params={"project": "core", "q": "count"}).json()
    assert listed["total"] == 1
    [counter] = listed["items"]
    assert counter["dag_id"] == "openfn__core__counter" and counter["is_paused"] is False
    assert counter["trigger"]["kind"] == "cron" and len(counter["trigger"]["next_runs"]) == 3
    assert counter["trigger"]["schedule"] == "Every minute"
    unknown = admin.get("/openfn/api/v1/jobs", params={"colour": "red"})
    assert unknown.status_code == 422


def test_a_viewer_sees_the_jobs_but_cannot_switch_or_run_them(viewer, registry, core_dags):
    page = viewer.get(f"{UI}/jobs?project=core")
    jobs = _job_rows(page.text)
    switch = jobs["intake"].split('data-action="toggle-job"')[1].split(">")[0]
    assert "disabled" in switch
    assert (
        'data-action="run-now" data-dag-id="openfn__core__counter" data-job="counter" disabled'
        in (jobs["counter"])
    )
