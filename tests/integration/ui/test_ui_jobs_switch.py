"""The Jobs screen: who switched a job last (the spec or someone in the UI), and the trigger filter.

Page and API tests on the in-process api-server app, then the screen in a real browser (light and
dark screenshots under bench/out/screenshots/).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
from test_ui_browser import (
    CHROMIUM,
    browser,
    log_in,
    open_openfn,
    rows,
    seeded,
    server,
    shot,
)

__all__ = ["browser", "seeded", "server"]

pytestmark = [pytest.mark.integration]

UI = "/openfn/ui"
API = "/openfn/api/v1"
OFF = "openfn__core__switched-off"  # enabled: false in the spec
COUNTER = "openfn__core__counter"


def _job_rows(html: str) -> dict[str, str]:
    rows = html.split('<tr data-job="')[1:]
    return {row.split('"', 1)[0]: row.split("</tr>", 1)[0] for row in rows}


@pytest.fixture
def pauses(db_url: str) -> Iterator[None]:
    """The core DAGs' pauses, put back as they were after the test."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        before = conn.execute(
            "SELECT dag_id, is_paused FROM dag WHERE dag_id LIKE 'openfn\\_\\_core\\_\\_%'"
        ).fetchall()
        yield
        for dag_id, paused in before:
            conn.execute("UPDATE dag SET is_paused = %s WHERE dag_id = %s", [paused, dag_id])


def _patch(client: Any, dag_id: str, paused: bool) -> None:
    answer = client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": paused})
    assert answer.status_code == 200, answer.text


def test_the_jobs_screen_says_the_spec_switched_a_job_off_then_who_switched_it_on(
    admin, registry, core_dags, pauses
):
    page = admin.get(f"{UI}/jobs?project=core")
    off = _job_rows(page.text)["switched-off"]
    assert 'data-switched="spec">off since the spec said <code>enabled: false</code>' in off
    assert "data-spec-disagrees" not in off

    _patch(admin, OFF, False)  # what the screen's switch (and Airflow's own UI) does

    on = _job_rows(admin.get(f"{UI}/jobs?project=core").text)["switched-off"]
    assert 'data-switched="user">switched on by admin' in on
    assert "spec says enabled: false" in on  # the file and the screen disagree, visibly
    job = next(
        j
        for j in admin.get(f"{API}/jobs?project=core").json()["items"]
        if j["name"] == "switched-off"
    )
    assert job["is_paused"] is False and job["enabled"] is False
    assert job["switched"]["by"] == "user" and job["switched"]["user"] == "admin"
    assert job["switched"]["on"] is True


def test_a_job_switched_off_in_the_ui_says_by_whom(admin, registry, core_dags, pauses):
    counter = _job_rows(admin.get(f"{UI}/jobs?project=core").text)["counter"]
    assert "data-switched" not in counter  # on since it was added: nothing to say

    _patch(admin, COUNTER, True)

    counter = _job_rows(admin.get(f"{UI}/jobs?project=core").text)["counter"]
    assert 'data-switched="user">switched off by admin' in counter
    assert "spec says enabled: true" in counter


def test_jobs_filter_by_trigger_name_on_the_screen_and_the_api(admin, registry):
    api = admin.get(f"{API}/jobs", params={"project": "core", "trigger": "intake"}).json()
    assert [j["name"] for j in api["items"]] == ["after-failure", "after-success"]
    assert api["total"] == 2

    page = admin.get(f"{UI}/jobs", params={"project": "core", "trigger": "FORMS"})
    assert sorted(_job_rows(page.text)) == ["intake", "not-listening"]
    assert 'name="trigger" value="FORMS"' in page.text

    both = admin.get(f"{UI}/jobs", params={"project": "core", "trigger": "forms", "q": "not"})
    assert sorted(_job_rows(both.text)) == ["not-listening"]

    none = admin.get(f"{UI}/jobs", params={"project": "core", "trigger": "nothing-like-it"})
    assert "No job's trigger's name contains “nothing-like-it”." in unescape(none.text)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_admin_filters_by_trigger_and_sees_who_switched_a_job(
    browser: Any, server: Any, db_url: str, mode: str
) -> None:
    import psycopg

    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    frame.get_by_role("navigation", name="OpenFn").get_by_role("link", name="Jobs").click()
    frame.wait_for_url(re.compile(r"/openfn/ui/jobs"))

    frame.locator("input[name=trigger]").fill("intake")
    frame.locator("input[name=trigger]").press("Enter")
    frame.wait_for_url(re.compile(r"/jobs\?(.*&)?trigger=intake"))
    page.wait_for_url(re.compile(r"/plugin/openfn/openfn/ui/jobs\?.*trigger=intake"))
    assert sorted(rows(frame, "jobs").evaluate_all("rs => rs.map(r => r.dataset.job)")) == [
        "after-failure",
        "after-success",
    ]

    frame.goto(f"{server.url}{UI}/jobs?project=core")
    off = frame.locator('tr[data-job="switched-off"]')
    # The spec switched it off; or the other mode's run did last, switching it back off.
    said = off.locator("[data-switched]").inner_text()
    assert re.match(r"off since the spec said enabled: false, |switched off by admin, ", said), said
    off.locator("label.switch").click()
    frame.locator("#action-status", has_text="switched-off is on").wait_for()
    assert off.locator("[data-switched]").inner_text() == "switched on here just now"
    assert off.locator("[data-spec-disagrees]").inner_text() == "spec says enabled: false"
    frame.goto(frame.url)
    off = frame.locator('tr[data-job="switched-off"]')
    assert off.locator("[data-switched]").inner_text().startswith("switched on by admin")
    off.scroll_into_view_if_needed()
    shot(page, "jobs-switch", mode)

    off.locator("label.switch").click()  # back off, as the spec says
    frame.locator("#action-status", has_text="switched-off is off").wait_for()
    assert off.locator("[data-spec-disagrees]").count() == 0
    with psycopg.connect(db_url) as conn:
        paused = conn.execute("SELECT is_paused FROM dag WHERE dag_id = %s", [OFF]).fetchone()
    assert paused == (True,)
    page.context.close()
