"""Run one matching job on one message from the Inbox, and retry a run on the edited message.

In a real browser (headless Debian chromium) inside Airflow's UI, as ``test_ui_browser.py``;
screenshots light and dark go to bench/out/screenshots/.
"""

# ruff: noqa: F811 (the fixtures imported from test_ui_browser are used as arguments)
from __future__ import annotations

import re
from typing import Any

import pytest
from server import ApiServer
from test_ui_browser import (  # noqa: F401 (its module fixtures and marks)
    browser,
    confirm,
    log_in,
    open_openfn,
    pytestmark,
    rows,
    seeded,
    server,
    shot,
)


def _hand_runs(db_url: str, dag_id: str) -> list[dict[str, Any]]:
    """Airflow's own DAG runs of ``dag_id`` started by hand from the OpenFn screens."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT run_id, run_type, state, conf FROM dag_run WHERE dag_id = %s "
            "AND (run_id LIKE 'openfn\\_match\\_\\_%%' OR run_id LIKE 'openfn\\_retry\\_\\_%%') "
            "ORDER BY id",
            (dag_id,),
        ).fetchall()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_admin_runs_one_matching_job_on_one_message(
    browser: Any, server: ApiServer, seeded: dict[str, int], db_url: str, mode: str
) -> None:
    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    ada = seeded["ada"]
    row = frame.locator(f'table[data-list="messages"] tr:has(a[href$="/messages/{ada}"])')
    buttons = row.locator("[data-action=run-job]")
    # Every job whose trigger matches, autoprocess off too.
    assert buttons.all_inner_texts() == ["intake", "not-listening"]
    assert "runs only by hand" in (buttons.nth(1).get_attribute("title") or "")
    shot(page, "inbox-run-match", mode)

    before = _hand_runs(db_url, "openfn__core__not-listening")
    buttons.nth(1).click()
    said = confirm(frame)
    assert "Run not-listening on message" in said and f"#{ada}" in said
    frame.locator("#action-status.success", has_text="Started not-listening").wait_for()
    link = frame.locator("#action-status a[data-dag-run]").get_attribute("href") or ""
    assert link.startswith("/dags/openfn__core__not-listening/runs/openfn_match__"), link
    after = _hand_runs(db_url, "openfn__core__not-listening")
    assert len(after) == len(before) + 1
    assert after[-1]["conf"] == {"message_id": ada} and after[-1]["run_type"] == "manual"
    assert _hand_runs(db_url, "openfn__core__intake") == []  # exactly that job
    shot(page, "inbox-run-match-started", mode)
    frame.goto(frame.url)  # the list, read again: that message's delivery is queued in Airflow
    queued = row.locator("a[data-waiting]")
    assert queued.count() >= 1 and "queued" in queued.first.inner_text()

    # The message page has the same buttons.
    frame.locator(f'a[href$="/messages/{ada}"]').first.click()
    frame.wait_for_url(re.compile(rf"/messages/{ada}$"))
    assert frame.locator(".facts [data-action=run-job]").all_inner_texts() == [
        "intake",
        "not-listening",
    ]
    # Its delivery waits in Airflow: "queued", linked to that DAG run (no "No run yet").
    waiting = frame.locator("[data-waiting-list] a[data-waiting]")
    hrefs = [waiting.nth(i).get_attribute("href") or "" for i in range(waiting.count())]
    assert any(h.endswith(after[-1]["run_id"]) for h in hrefs), hrefs
    assert "queued" in frame.locator("[data-waiting-list]").inner_text()
    assert frame.locator("h1 + .badge.queued").count() == 1
    shot(page, "message-queued", mode)
    page.context.close()


def test_admin_retries_a_run_with_the_message_as_it_is_now(
    browser: Any, server: ApiServer, seeded: dict[str, int], db_url: str
) -> None:
    page = log_in(browser, server, "admin")
    frame = open_openfn(page)
    ada = seeded["ada"]
    frame.goto(frame.url.split("/openfn/ui/")[0] + f"/openfn/ui/messages/{ada}")
    frame.locator("h1").wait_for()
    retry = rows(frame, "message-runs").locator("[data-action=retry-message-run]")
    # Not edited yet: a plain retry on the run's initial state.
    assert retry.first.inner_text().strip() == "Retry"

    frame.get_by_role("button", name="Edit body").click()
    frame.locator("#editor textarea").fill('{"form": "intake", "name": "Ada Lovelace, fixed"}')
    frame.get_by_role("button", name="Save body").click()
    frame.locator("[data-version]").first.wait_for()
    retry = rows(frame, "message-runs").locator("[data-action=retry-message-run]")
    assert retry.first.inner_text().strip() == "Retry…"  # edited since the run: a choice

    run_id = retry.first.get_attribute("data-run")
    dag_id = "openfn__core__intake"
    before = _hand_runs(db_url, dag_id)
    retry.first.click()
    dialog = frame.locator("dialog#confirm")
    dialog.wait_for(state="visible")
    assert "edited since run" in dialog.inner_text()
    assert dialog.locator("input[value=as_run]").is_checked()  # the default keeps the old state
    dialog.locator("input[value=current]").check()
    shot(page, "message-retry-as-now", "light")
    dialog.locator("[data-ok]").click()
    frame.locator("#action-status.success", has_text="as it is now").wait_for()
    after = _hand_runs(db_url, dag_id)
    assert len(after) == len(before) + 1
    assert after[-1]["conf"] == {"retry_of": int(run_id or 0), "message": "current"}

    # The run's own page offers the same choice.
    frame.goto(frame.url.split("/openfn/ui/")[0] + f"/openfn/ui/runs/{run_id}")
    frame.locator("h1").wait_for()
    button = frame.locator("[data-action=retry-message-run]")
    assert button.first.inner_text().strip() == "Retry…"
    button.first.click()
    dialog.wait_for(state="visible")
    assert "edited since run" in dialog.inner_text()
    dialog.locator("input[value=current]").check()
    shot(page, "run-retry-as-now", "light")
    dialog.locator("[data-ok]").click()
    frame.locator("#action-status.success", has_text="as it is now").wait_for()
    assert len(_hand_runs(db_url, dag_id)) == len(before) + 2
    page.context.close()

    dark = log_in(browser, server, "admin", "dark")
    frame = open_openfn(dark)
    frame.goto(frame.url.split("/openfn/ui/")[0] + f"/openfn/ui/messages/{ada}")
    frame.locator("h1").wait_for()
    rows(frame, "message-runs").locator("[data-action=retry-message-run]").first.click()
    frame.locator("dialog#confirm").wait_for(state="visible")
    shot(dark, "message-retry-as-now", "dark")
    dark.context.close()
