"""The OpenFn screens in a real browser, inside Airflow's real UI, served by the real api-server.

Headless Debian ``chromium`` driven by Playwright: log in on Airflow's login page, open "OpenFn"
from Airflow's navigation, and work through the inbox, activity, jobs and project
settings as an admin and as a viewer. Screenshots of each screen, light and dark, go to bench/out/screenshots/.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster import fresh_start
from factories import serialize_dags
from playwright.sync_api import Error as PlaywrightError
from seed import seed
from server import ApiServer, logged_in_context

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "bench" / "out" / "screenshots"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    # Skipped on a developer's machine without the browser; in CI (.ci/run installs it) a
    # missing browser fails instead of hiding the tests.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def seeded(db_url: str) -> Iterator[dict[str, int]]:
    """The test projects registered, a history seeded, the core job DAGs in Airflow's tables."""
    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store.database import connect

    fresh_start(db_url)
    serialize_dags(Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]), "openfn_jobs.py")
    conn = connect(db_url)
    try:
        sync_projects(conn, Path(__file__).resolve().parents[1] / "projects")
        conn.commit()
        ids = seed(conn)
    finally:
        conn.close()
    yield ids
    fresh_start(db_url)  # retries queued DAG runs no scheduler ran: leave none behind


@pytest.fixture(scope="module")
def server(seeded: dict[str, int], ui_server: ApiServer) -> ApiServer:
    """The package's api-server (ui/conftest.py), once this module's history is seeded."""
    return ui_server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright import sync_api  # in the package's test extras

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


def log_in(
    browser: Any, server: ApiServer, user: str, mode: str = "light", start: str = "/plugin/openfn"
) -> Any:
    """A page of Airflow's UI in ``mode`` at ``start`` (by default Airflow's page of the OpenFn
    screens), logged in (once) through Airflow's own login page.

    Loading Airflow's home page first costs each test about 2 s more; the inbox test opens the
    screens from the home page, through Airflow's navigation (``open_openfn``).
    """
    context = logged_in_context(
        browser,
        server,
        user,
        viewport={"width": 1400, "height": 1000},
        color_scheme=mode,
        accept_downloads=True,
    )
    context.add_init_script(f"localStorage.setItem('theme', '{mode}')")
    page = context.new_page()
    page.goto(f"{server.url}{start}")
    return page


def open_openfn(page: Any) -> Any:
    """The frame the OpenFn screens are shown in: "OpenFn" clicked in Airflow's navigation,
    unless the page shows them already."""
    if "/plugin/openfn" not in page.url:
        page.get_by_test_id("nav-sidebar").get_by_role("link", name="OpenFn", exact=True).click()
        page.wait_for_url(re.compile(r"/plugin/openfn"))
    return frame_of(page)


def frame_of(page: Any) -> Any:
    """The frame Airflow shows the OpenFn screens in, once a screen has loaded in it."""
    page.locator('iframe[title="OpenFn"]').wait_for()
    for _ in range(100):
        # Airflow's router may render the iframe again right after the click: a frame found
        # then detached is looked up anew.
        try:
            frame = page.locator('iframe[title="OpenFn"]').element_handle().content_frame()
            if frame is not None and "/openfn/ui/" in frame.url:
                frame.locator("h1").wait_for()
                return frame
        except PlaywrightError as exc:
            if "detached" not in str(exc):
                raise
        page.wait_for_timeout(100)
    raise AssertionError("the OpenFn screens did not open in Airflow's UI")


def shot(page: Any, name: str, mode: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{mode}.png"))


def full_page_shot(page: Any, server: ApiServer, path: str, name: str, mode: str) -> None:
    """The screen on its own at full length (inside Airflow it scrolls within the frame)."""
    alone = page.context.new_page()
    alone.goto(f"{server.url}/openfn/ui{path}")
    alone.locator("h1").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alone.screenshot(path=str(SCREENSHOTS / f"{name}-{mode}-full.png"), full_page=True)
    alone.close()


def confirm(frame: Any) -> str:
    """Read the confirmation dialog and press its confirm button; return what it said."""
    dialog = frame.locator("dialog#confirm")
    dialog.wait_for(state="visible")
    text = dialog.inner_text()
    dialog.locator("[data-ok]").click()
    return text


def rows(frame: Any, name: str) -> Any:
    return frame.locator(f'table[data-list="{name}"] tbody tr')


def test_anonymous_visitor_is_sent_to_airflows_login(browser: Any, server: ApiServer) -> None:
    page = browser.new_page()
    page.goto(f"{server.url}/openfn/ui/inbox?q=ada")
    page.wait_for_url(re.compile(r"/auth/login"))
    assert "next=" in page.url
    page.context.close()


def test_admin_works_through_the_inbox(
    browser: Any, server: ApiServer, seeded: dict[str, int]
) -> None:
    page = log_in(browser, server, "admin", start="/")
    frame = open_openfn(page)
    assert frame.locator("h1").inner_text() == "Inbox"
    assert rows(frame, "messages").count() == 32
    shot(page, "inbox", "light")

    # Filter by body text: the filter lands in Airflow's address bar, so it can be shared.
    frame.locator("input[name=q]").fill("lovelace")
    frame.locator("input[name=q]").press("Enter")
    frame.wait_for_url(re.compile(r"q=lovelace"))
    assert rows(frame, "messages").count() == 1
    page.wait_for_url(re.compile(r"/plugin/openfn/openfn/ui/inbox\?q=lovelace"))
    frame.locator("select[name=received_after]").select_option("7d")
    frame.wait_for_url(re.compile(r"received_after=7d"))
    assert "q=lovelace" in frame.url and rows(frame, "messages").count() == 1

    # The full date-time and the relative time on hover.
    title = frame.locator("table time").first.get_attribute("title")
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC · ", title or ""), title

    # Open the message: formatted JSON, its runs with their status (the failed one red).
    frame.locator(f'a[href$="/messages/{seeded["ada"]}"]').first.click()
    frame.wait_for_url(re.compile(rf"/messages/{seeded['ada']}$"))
    assert frame.locator("#body .k", has_text='"patient"').count() == 1
    assert rows(frame, "message-runs").count() == 2
    assert rows(frame, "message-runs").locator(".badge.failed").count() == 1
    shot(page, "message", "light")
    full_page_shot(page, server, f"/messages/{seeded['ada']}", "message", "light")

    # Edit the body, with the warning; the previous body is kept as a version.
    frame.get_by_role("button", name="Edit body").click()
    assert "Editing changes what this message says" in frame.locator("#editor").inner_text()
    frame.locator("#editor textarea").fill('{"form": "intake", "name": "Ada King"}')
    frame.get_by_role("button", name="Save body").click()
    frame.locator("[data-version]").first.wait_for()
    assert frame.locator("#body .s", has_text='"Ada King"').count() == 1
    assert frame.locator("[data-version]").count() == 1

    # Process now (play): the message is queued for its trigger again.
    frame.get_by_role("button", name="Process now").click()
    frame.locator("#action-status.success").wait_for()
    assert "forms" in frame.locator("#action-status").inner_text()

    # Back to the inbox: bulk reprocess of the current filter, the count confirmed first.
    frame.get_by_role("link", name="Inbox").first.click()
    frame.locator("input[name=q]").fill("person")
    frame.locator("input[name=q]").press("Enter")
    frame.wait_for_url(re.compile(r"q=person"))
    assert rows(frame, "messages").count() == 30
    frame.get_by_role("button", name="Reprocess all…").click()
    said = confirm(frame)
    assert "30 messages match" in said, said
    frame.locator("#action-status.success").wait_for()
    assert "Reprocessing 30 messages" in frame.locator("#action-status").inner_text()

    # Export CSV of the current filter.
    with page.expect_download() as download:
        frame.get_by_role("link", name="Export CSV").click()
    text = Path(download.value.path()).read_text()
    exported = list(csv.DictReader(io.StringIO(text)))
    assert len(exported) == 30 and all("Person" in row["body"] for row in exported)

    # Page size and next page.
    frame.locator("select[name=limit]").select_option("25")
    frame.wait_for_url(re.compile(r"limit=25"))
    assert rows(frame, "messages").count() == 25
    frame.locator("a[data-next]").click()
    frame.wait_for_url(re.compile(r"before_id="))
    assert rows(frame, "messages").count() == 5
    page.context.close()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_admin_sees_a_messages_files_and_downloads_them(
    browser: Any, server: ApiServer, seeded: dict[str, int], mode: str
) -> None:
    from odk import PHOTO, PHOTO_NAME, SIGNATURE_NAME

    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    frame.goto(f"{server.url}/openfn/ui/messages/{seeded['ada']}")
    files = rows(frame, "attachments")
    files.first.wait_for()
    assert files.count() == 3
    assert [files.nth(n).locator("td.name").inner_text() for n in range(3)] == [
        PHOTO_NAME,
        SIGNATURE_NAME,
        "referral letter.pdf",
    ]
    # The photo and the signature show as thumbnails (loaded: the page's policy allows them).
    thumbs = frame.locator("img.thumb")
    assert thumbs.count() == 2
    for n in range(2):
        thumbs.nth(n).scroll_into_view_if_needed()
        frame.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=thumbs.nth(n).element_handle()
        )
    assert frame.locator("img.thumb").first.evaluate("img => img.naturalWidth") == 320
    frame.locator('table[data-list="attachments"]').scroll_into_view_if_needed()
    shot(page, "message-files", mode)
    full_page_shot(page, server, f"/messages/{seeded['ada']}", "message-files", mode)

    with page.expect_download() as download:
        files.first.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == PHOTO_NAME
    assert Path(download.value.path()).read_bytes() == PHOTO
    with page.expect_download() as download:
        files.nth(2).get_by_role("link", name="referral letter.pdf").click()
    assert download.value.suggested_filename == "referral letter.pdf"
    page.context.close()


def test_admin_works_through_the_activity(
    browser: Any, server: ApiServer, seeded: dict[str, int]
) -> None:
    page = log_in(browser, server, "admin")
    frame = open_openfn(page)
    frame.get_by_role("link", name="Activity").click()
    frame.wait_for_url(re.compile(r"/openfn/ui/runs"))
    assert rows(frame, "runs").count() == 3
    assert rows(frame, "runs").and_(frame.locator("tr.failed")).count() == 1
    shot(page, "activity", "light")

    frame.locator('label.chip:has-text("failed")').first.click()
    frame.wait_for_url(re.compile(r"status=failed"))
    assert rows(frame, "runs").count() == 1

    frame.locator(f'a[href$="/runs/{seeded["failed_run"]}"]').first.click()
    frame.wait_for_url(re.compile(rf"/runs/{seeded['failed_run']}$"))
    assert "error in the job" in frame.locator("[data-exit]").inner_text().lower() or (
        frame.locator("[data-exit]").inner_text().startswith("1")
    )
    dag_run = frame.get_by_role("link", name="DAG run in Airflow")
    assert dag_run.get_attribute("href") == (
        "/dags/openfn__core__intake/runs/asset_triggered__2024-05-31T12%3A00%3A00%2B00%3A00"
    )
    assert (
        frame.locator("[data-message]").get_attribute("href").endswith(f"/messages/{seeded['ada']}")
    )

    # What ran it: Node, OpenFn's runtime and the pinned adaptor.
    assert frame.locator("[data-ran-with]").inner_text() == (
        "Node v20.20.2, @openfn/runtime 1.9.5, @openfn/language-http@7.2.10"
    )

    # Search the long log.
    frame.locator("[data-log] input[type=search]").fill("409")
    frame.locator("[data-log-count]", has_text="1 matching line").wait_for()
    frame.locator("[data-log-only]").check()
    assert frame.locator(".log .line").count() == 1
    assert frame.locator(".log mark").inner_text() == "409"
    shot(page, "run", "light")
    full_page_shot(page, server, f"/runs/{seeded['failed_run']}", "run", "light")

    # Retry this run, confirmed. Its message (Ada's) may have been edited since the run (the inbox
    # test edits it): the retry then asks whether to run it as it ran, which is kept here.
    retry = frame.locator("[data-action=retry], [data-action=retry-message-run]").first
    edited = retry.get_attribute("data-action") == "retry-message-run"
    retry.click()
    if edited:
        assert "The message was edited since run" in confirm(frame)
        frame.locator("#action-status.success").wait_for()
        assert "on its initial state" in frame.locator("#action-status").inner_text()
    else:
        assert "1 run will be retried" in confirm(frame)
        frame.locator("#action-status.success").wait_for()
        assert "Retried 1 run" in frame.locator("#action-status").inner_text()

    # The DAG run link opens Airflow's own page (in Airflow, not inside the frame).
    dag_run.click()
    page.wait_for_url(re.compile(r"/dags/openfn__core__intake/runs/"))

    # Bulk retry of a filter, with its count, then CSV export of the runs.
    # Back to the list by its bookmarkable address (Airflow renders the frame again on its way
    # back from its own page, so clicks in the old frame may land in a detached one).
    page.goto(f"{server.url}/plugin/openfn/openfn/ui/runs")
    frame = frame_of(page)
    frame.wait_for_url(re.compile(r"/openfn/ui/runs$"))
    frame.get_by_role("button", name="Retry all…").click()
    said = confirm(frame)
    # The failed run was retried above: a run is retried once, its retry is retried next.
    assert "2 runs will be retried" in said, said
    frame.locator("#action-status.success, #action-status.warning").wait_for()
    with page.expect_download() as download:
        frame.get_by_role("button", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(exported) == 3
    page.context.close()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_admin_exports_the_runs_with_their_logs_when_asked(
    browser: Any, server: ApiServer, seeded: dict[str, int], mode: str
) -> None:
    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    frame.get_by_role("link", name="Activity").click()
    frame.wait_for_url(re.compile(r"/openfn/ui/runs"))
    frame.locator('label.chip:has-text("failed")').first.click()
    frame.wait_for_url(re.compile(r"status=failed"))
    with_logs = frame.get_by_label("With logs")
    assert not with_logs.is_checked()  # off by default: the plain export stays small
    shot(page, "activity-export", mode)

    with page.expect_download() as download:
        frame.get_by_role("button", name="Export CSV").click()
    [plain] = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert int(plain["id"]) == seeded["failed_run"] and "log" not in plain

    with_logs.check()
    with page.expect_download() as download:
        frame.get_by_role("button", name="Export CSV").click()
    text = Path(download.value.path()).read_text()
    [logged] = list(csv.DictReader(io.StringIO(text, newline="")))
    # The list's filters hold in the export, and the cell is the run's whole log.
    assert int(logged["id"]) == seeded["failed_run"]
    assert "409" in logged["log"] and logged["log"].count("\n") > 10
    shot(page, "activity-export-checked", mode)
    page.context.close()


def _dag(db_url: str, dag_id: str) -> tuple[bool, int]:
    """Airflow's own tables: whether the DAG is paused, and how many manual DAG runs it has."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        paused = conn.execute("SELECT is_paused FROM dag WHERE dag_id = %s", (dag_id,)).fetchone()
        manual = conn.execute(
            "SELECT count(*) FROM dag_run WHERE dag_id = %s AND run_type = 'manual'", (dag_id,)
        ).fetchone()
    assert paused is not None and manual is not None
    return bool(paused[0]), int(manual[0])


def test_admin_switches_jobs_off_and_on_and_runs_a_cron_job_now(
    browser: Any, server: ApiServer, seeded: dict[str, int], db_url: str
) -> None:
    page = log_in(browser, server, "admin")
    frame = open_openfn(page)
    frame.get_by_role("navigation", name="OpenFn").get_by_role("link", name="Jobs").click()
    frame.wait_for_url(re.compile(r"/openfn/ui/jobs"))
    assert rows(frame, "jobs").count() >= 14
    intake = frame.locator('tr[data-job="intake"]')
    assert '{"form": "intake"}' in intake.locator("[data-criteria]").inner_text()
    assert intake.locator("[data-last-run] .badge.failed").count() == 1
    counter = frame.locator('tr[data-job="counter"]')
    assert counter.locator("[data-schedule]").inner_text() == "Every minute (UTC)"
    assert counter.locator("[data-next-runs] time").count() == 3
    shot(page, "jobs", "light")
    full_page_shot(page, server, "/jobs", "jobs", "light")

    # "Messages that match it now" opens the inbox filtered by the job's trigger.
    intake.locator("[data-matching]").click()
    frame.wait_for_url(re.compile(r"/openfn/ui/inbox\?project=core&trigger=forms"))
    assert rows(frame, "messages").count() >= 30
    frame.get_by_role("navigation", name="OpenFn").get_by_role("link", name="Jobs").click()
    frame.wait_for_url(re.compile(r"/openfn/ui/jobs$"))

    # Filter by name: the filter is in the URL.
    frame.locator("input[name=q]").fill("count")
    frame.locator("input[name=q]").press("Enter")
    frame.wait_for_url(re.compile(r"/jobs\?(.*&)?q=count"))
    page.wait_for_url(re.compile(r"/plugin/openfn/openfn/ui/jobs\?.*q=count"))
    assert rows(frame, "jobs").count() == 1

    # Switch it off and on again: Airflow pauses and unpauses the DAG.
    dag_id = "openfn__core__counter"
    assert _dag(db_url, dag_id)[0] is False
    switch = frame.locator('tr[data-job="counter"] label.switch')
    switch.click()
    frame.locator("#action-status", has_text="counter is off").wait_for()
    assert frame.locator('tr[data-job="counter"] [data-state]').inner_text() == "off"
    assert _dag(db_url, dag_id)[0] is True
    frame.goto(frame.url)  # the page reads it back from Airflow
    assert not frame.locator('tr[data-job="counter"] input[role=switch]').is_checked()
    frame.locator('tr[data-job="counter"] label.switch').click()
    frame.locator("#action-status", has_text="counter is on").wait_for()
    assert _dag(db_url, dag_id)[0] is False

    # Run it now: a manual DAG run appears, linked from the page.
    before = _dag(db_url, dag_id)[1]
    frame.get_by_role("button", name="Run now").click()
    assert "Start a run of counter now" in confirm(frame)
    frame.locator("#action-status.success", has_text="Started counter").wait_for()
    assert _dag(db_url, dag_id)[1] == before + 1
    link = frame.locator("#action-status a[data-dag-run]").get_attribute("href") or ""
    assert link.startswith(f"/dags/{dag_id}/runs/manual__"), link
    shot(page, "jobs-run-now", "light")
    page.context.close()


def test_admin_manages_inbox_auth_methods(browser: Any, server: ApiServer) -> None:
    page = log_in(browser, server, "admin")
    frame = open_openfn(page)
    frame.get_by_role("link", name="Project settings").click()
    frame.wait_for_url(re.compile(r"/openfn/ui/settings"))

    url = frame.locator("#inbox-url")
    assert "••••" in url.inner_text()
    frame.get_by_role("button", name="Reveal").click()
    assert re.search(r"/openfn/inbox/[0-9a-f-]{36}$", url.inner_text())

    frame.get_by_role("button", name="Add API key").click()
    frame.locator("#new-secret").wait_for(state="visible")
    key = frame.locator("#new-secret code").inner_text()
    assert len(key) >= 20
    assert rows(frame, "auth-methods").locator("text=active").count() == 1
    assert key[-4:] in rows(frame, "auth-methods").first.inner_text()
    shot(page, "settings", "light")
    full_page_shot(page, server, "/settings", "settings", "light")
    # Shown once: after a reload the key is gone.
    frame.goto(frame.url)
    assert frame.locator("#new-secret").is_hidden()

    frame.locator("#add-basic input[name=username]").fill("odk")
    frame.get_by_role("button", name="Add basic auth").click()
    frame.locator("#new-secret").wait_for(state="visible")
    assert "Password of odk" in frame.locator("#new-secret").inner_text()

    frame.locator("[data-action=revoke]").first.click()
    assert "will be refused from now on" in confirm(frame)
    rows(frame, "auth-methods").locator("text=revoked").first.wait_for()
    assert frame.locator("[data-action=revoke]").count() == 1
    basic_row = rows(frame, "auth-methods").filter(has_text="odk")
    assert "…" not in basic_row.inner_text()  # no part of a password is shown
    page.context.close()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_admin_revokes_the_last_method_and_opens_the_inbox_after_a_confirmation(
    browser: Any, server: ApiServer, mode: str
) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    frame.get_by_role("link", name="Project settings").click()
    frame.wait_for_url(re.compile(r"/openfn/ui/settings"))
    frame.get_by_role("button", name="Add API key").click()
    frame.locator("#new-secret").wait_for(state="visible")
    assert frame.locator("[data-inbox-state=protected]").is_visible()

    revoke = frame.locator("[data-action=revoke]")
    while (active := revoke.count()) > 1:
        revoke.first.click()
        confirm(frame)
        expect(revoke).to_have_count(active - 1)
    frame.locator("[data-action=revoke]").first.click()
    assert "the inbox will be closed" in confirm(frame)
    frame.locator("[data-inbox-state=closed]").wait_for()
    shot(page, "settings-closed", mode)

    frame.locator("[data-action=open-inbox]").click()
    said = confirm(frame)
    assert "anyone with its URL can send" in said
    frame.locator("[data-inbox-state=open]").wait_for()
    assert (
        "Open: anyone with the URL can send."
        in frame.locator("[data-inbox-state=open]").inner_text()
    )
    shot(page, "settings-open", mode)
    page.context.close()


def test_a_viewer_sees_everything_and_can_change_nothing(
    browser: Any, server: ApiServer, seeded: dict[str, int]
) -> None:
    page = log_in(browser, server, "viewer")
    frame = open_openfn(page)
    assert rows(frame, "messages").count() >= 30
    assert frame.get_by_role("button", name="Reprocess all…").is_disabled()
    assert frame.locator("[data-id-range-menu]").count() == 0  # no id-range form either
    frame.goto(f"{server.url}/openfn/ui/messages/{seeded['ada']}")
    assert frame.get_by_role("button", name="Process now").is_disabled()
    assert frame.get_by_role("button", name="Edit body").is_disabled()
    frame.goto(f"{server.url}/openfn/ui/runs/{seeded['failed_run']}")
    assert frame.get_by_role("button", name="Retry").is_disabled()
    frame.goto(f"{server.url}/openfn/ui/runs")
    assert frame.get_by_role("button", name="Retry all…").is_disabled()
    assert frame.locator("[data-id-range-menu]").count() == 0
    frame.goto(f"{server.url}/openfn/ui/settings")
    assert frame.get_by_role("button", name="Add API key").is_disabled()
    assert frame.get_by_role("button", name="Add basic auth").is_disabled()
    assert frame.locator("#inbox-url").count() == 0
    shot(page, "settings-viewer", "light")
    frame.goto(f"{server.url}/openfn/ui/jobs")
    assert frame.locator('tr[data-job="counter"] input[role=switch]').is_disabled()
    assert (
        frame.locator('tr[data-job="counter"]').get_by_role("button", name="Run now").is_disabled()
    )
    shot(page, "jobs-viewer", "light")
    # Airflow's REST API refuses the viewer's hand-made pause and run requests too.
    for method, path, body in (
        ("PATCH", "/api/v2/dags/openfn__core__counter", '{"is_paused": true}'),
        ("POST", "/api/v2/dags/openfn__core__counter/dagRuns", '{"logical_date": null}'),
    ):
        refused = frame.evaluate(
            """async ([method, path, body]) => (await fetch(path, {method, body,
                   headers: {'Content-Type': 'application/json'}})).status""",
            [method, path, body],
        )
        assert refused == 403, (method, path, refused)
    # Even a hand-made request from the page is refused by the API.
    status = frame.evaluate(
        """async (id) => (await fetch(`/openfn/api/v1/messages/${id}/process`,
                                      {method: 'POST'})).status""",
        seeded["ada"],
    )
    assert status == 403
    page.context.close()


@pytest.mark.parametrize("mode", ["dark"])
def test_every_screen_in_dark_mode(
    browser: Any, server: ApiServer, seeded: dict[str, int], mode: str
) -> None:
    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    assert "dark" in (frame.locator("html").get_attribute("class") or "")
    background = frame.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)", background
    screens = {
        "inbox": "/inbox",
        "message": f"/messages/{seeded['ada']}",
        "activity": "/runs",
        "run": f"/runs/{seeded['failed_run']}",
        "settings": "/settings",
        "jobs": "/jobs",
    }
    for name, path in screens.items():
        frame.goto(f"{server.url}/openfn/ui{path}")
        frame.locator("h1").wait_for()
        shot(page, name, mode)
        full_page_shot(page, server, path, name, mode)
    # Switching Airflow's colour mode switches the screens at once.
    page.evaluate("document.documentElement.classList.replace('dark', 'light')")
    frame.locator("html.light").wait_for(state="attached")
    page.context.close()


# ---- Id ranges, go to page, newer / older, custom ranges in a time zone -----------------------
# After the tests above: the runs these add would change what those count.


def _dispatched(db_url: str, first: int, last: int) -> int:
    """How many deliveries were queued for the messages with ids first to last."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM openfn_dispatch WHERE message_id BETWEEN %s AND %s",
            (first, last),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _add_runs(db_url: str, statuses: list[str]) -> list[int]:
    """Finished runs of the core project's intake job, one per status; their ids."""
    from factories import make_run

    from openfn_airflow.store.database import connect

    conn = connect(db_url)
    try:
        made = [
            make_run(
                conn,
                project="core",
                job="intake",
                trigger="message",
                status=status,
                exit_code=0 if status == "success" else 1,
                dag_id="openfn__core__intake",
                initial_state={"data": {"n": n}, "references": []},
            )["id"]
            for n, status in enumerate(statuses)
        ]
        conn.commit()
    finally:
        conn.close()
    return made


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_admin_reprocesses_an_id_range_after_seeing_the_count(
    browser: Any, server: ApiServer, seeded: dict[str, int], db_url: str, mode: str
) -> None:
    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    frame.locator("input[name=q]").fill("person")
    frame.locator("input[name=q]").press("Enter")
    frame.wait_for_url(re.compile(r"q=person"))
    first, last = seeded["ada"] - 28, seeded["ada"] - 24  # five of the 30 people

    frame.get_by_text("Reprocess by id…").click()
    panel = frame.locator("form[data-id-range=reprocess]")
    panel.wait_for(state="visible")
    assert "With the current filters: body contains person; any date." in panel.inner_text()
    # The ends the wrong way round are refused before anything is asked of the server.
    panel.locator("input[name=from_id]").fill(str(last))
    panel.locator("input[name=to_id]").fill(str(first))
    panel.get_by_role("button", name="Reprocess range…").click()
    assert "must not be above" in panel.locator("[data-problem]").inner_text()

    panel.locator("input[name=from_id]").fill(str(first))
    panel.locator("input[name=to_id]").fill(str(last))
    shot(page, "inbox-id-range", mode)
    before = _dispatched(db_url, first, last)
    panel.get_by_role("button", name="Reprocess range…").click()
    dialog = frame.locator("dialog#confirm")
    dialog.wait_for(state="visible")
    assert dialog.locator("[data-count]").inner_text() == "5"
    shot(page, "inbox-id-range-confirm", mode)
    said = confirm(frame)
    assert f"5 messages with ids {first} to {last} match the filters" in said, said
    frame.locator("#action-status.success").wait_for()
    assert (
        f"Reprocessing 5 messages (ids {first} to {last})"
        in frame.locator("#action-status").inner_text()
    )
    assert panel.is_hidden()
    assert _dispatched(db_url, first, last) == before + 5

    # On a narrow window the form stays inside it.
    page.set_viewport_size({"width": 760, "height": 900})
    frame.get_by_text("Reprocess by id…").click()
    panel.wait_for(state="visible")
    box = panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 760, box
    shot(page, "inbox-id-range-narrow", mode)
    page.context.close()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_admin_retries_an_id_range_of_a_job_and_status_after_seeing_the_count(
    browser: Any, server: ApiServer, seeded: dict[str, int], db_url: str, mode: str
) -> None:
    made = _add_runs(db_url, ["failed", "success", "failed", "crashed"])
    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    frame.goto(f"{server.url}/openfn/ui/runs?job=intake&status=failed&status=crashed")
    frame.locator("h1").wait_for()

    frame.get_by_text("Retry by id…").click()
    panel = frame.locator("form[data-id-range=retry]")
    panel.wait_for(state="visible")
    assert "job intake · status failed, crashed; any date." in panel.inner_text()
    panel.locator("input[name=from_id]").fill(str(made[0]))
    panel.locator("input[name=to_id]").fill(str(made[-1]))
    shot(page, "activity-id-range", mode)
    panel.get_by_role("button", name="Retry range…").click()
    said = confirm(frame)
    # Not the run that succeeded, in the middle of the range.
    assert f"3 runs with ids {made[0]} to {made[-1]} will be retried" in said, said
    assert "core/intake: 3" in said
    frame.locator("#action-status.success").wait_for()
    assert (
        f"Retried 3 runs (ids {made[0]} to {made[-1]})"
        in frame.locator("#action-status").inner_text()
    )
    # Asked again, nothing is retried twice.
    frame.get_by_text("Retry by id…").click()
    panel.get_by_role("button", name="Retry range…").click()
    frame.locator("#action-status.warning", has_text="No finished run with ids").wait_for()
    page.context.close()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_admin_goes_to_a_page_by_its_number(
    browser: Any, server: ApiServer, seeded: dict[str, int], mode: str
) -> None:
    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    total = int(re.sub(r"\D", "", frame.locator("[data-total]").inner_text()))
    frame.locator("select[name=limit]").select_option("25")
    frame.wait_for_url(re.compile(r"limit=25"))
    pages = -(-total // 25)
    assert frame.locator("[data-page-of]").inner_text() == f"Page 1 of {pages} · 25 shown"

    frame.locator("#goto-page").fill(str(pages))
    frame.get_by_role("button", name="Go", exact=True).click()
    frame.wait_for_url(re.compile(rf"\?limit=25&page={pages}$"))
    page.wait_for_url(re.compile(rf"/plugin/openfn/openfn/ui/inbox\?limit=25&page={pages}"))
    shown = total - 25 * (pages - 1)
    assert (
        frame.locator("[data-page-of]").inner_text() == f"Page {pages} of {pages} · {shown} shown"
    )
    assert rows(frame, "messages").count() == shown
    assert frame.locator("a[data-next]").count() == 0
    assert frame.locator("#goto-page").input_value() == str(pages)
    shot(page, "inbox-last-page", mode)

    # A page that is not there: the last one, and a word why.
    frame.locator("#goto-page").fill("99")
    frame.locator("#goto-page").press("Enter")
    frame.wait_for_url(re.compile(r"page=99$"))
    assert (
        f"There is no page 99: the last page is {pages}."
        in frame.locator("[data-notice]").inner_text()
    )
    assert frame.locator("[data-page-of]").inner_text().startswith(f"Page {pages} of {pages}")
    frame.locator("a[data-newest]").click()
    frame.wait_for_url(re.compile(r"\?limit=25$"))
    assert rows(frame, "messages").count() == 25
    page.context.close()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_admin_steps_to_newer_and_older_messages_and_runs(
    browser: Any, server: ApiServer, seeded: dict[str, int], mode: str
) -> None:
    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    ada = seeded["ada"]
    frame.locator(f'a[href$="/messages/{ada}"]').first.click()
    frame.wait_for_url(re.compile(rf"/messages/{ada}$"))
    shot(page, "message-newer-older", mode)
    frame.get_by_role("link", name="Older »").click()
    frame.wait_for_url(re.compile(rf"/messages/{ada - 1}$"))
    assert frame.locator("h1").inner_text() == f"Message #{ada - 1}"
    frame.get_by_role("link", name="« Newer").click()
    frame.wait_for_url(re.compile(rf"/messages/{ada}$"))
    frame.get_by_role("link", name="« Newer").click()
    frame.wait_for_url(re.compile(rf"/messages/{seeded['other']}$"))
    # The newest message: nothing newer, said by a disabled button.
    newest = frame.locator("[data-neighbours] [aria-disabled=true]")
    assert newest.inner_text() == "« Newer" and frame.locator("a[data-newer]").count() == 0

    frame.goto(f"{server.url}/openfn/ui/runs/{seeded['failed_run']}")
    frame.locator("h1").wait_for()
    shot(page, "run-newer-older", mode)
    frame.get_by_role("link", name="Older »").click()
    frame.wait_for_url(re.compile(rf"/runs/{seeded['ok_run']}$"))
    frame.get_by_role("link", name="« Newer").click()
    frame.wait_for_url(re.compile(rf"/runs/{seeded['failed_run']}$"))
    frame.get_by_role("link", name="« Newer").click()
    frame.wait_for_url(re.compile(rf"/runs/{seeded['cron_run']}$"))
    page.context.close()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_a_custom_range_is_typed_in_the_users_time_zone_and_linked_with_its_offset(
    browser: Any, server: ApiServer, seeded: dict[str, int], mode: str
) -> None:
    page = log_in(browser, server, "admin", mode, start="/")
    # The zone picked in Airflow's UI (its user settings keep it in localStorage), before the
    # screens open.
    page.context.add_init_script("localStorage.setItem('timezone', '\"America/New_York\"')")
    frame = open_openfn(page)
    assert "America/New_York" in frame.locator("th", has_text="Received").inner_text()
    frame.locator("select[name=received_after]").select_option("")
    custom = frame.locator("[data-custom-range]")
    custom.wait_for(state="visible")
    assert custom.inner_text().count("America/New_York") == 2
    # Summer and winter: the offset follows daylight saving time.
    custom.locator("input[name=received_after]").fill("2024-07-01T12:00")
    custom.locator("input[name=received_before]").fill("2030-01-15T08:30")
    shot(page, "inbox-custom-range", mode)
    frame.get_by_role("button", name="Apply").click()
    frame.wait_for_url(re.compile(r"received_before="))
    assert "received_after=2024-07-01T12%3A00%3A00-04%3A00" in frame.url
    assert "received_before=2030-01-15T08%3A30%3A00-05%3A00" in frame.url
    # Read back, the range shows in the same zone, as the times of the list do.
    assert custom.locator("input[name=received_after]").input_value() == "2024-07-01T12:00"
    assert custom.locator("input[name=received_before]").input_value() == "2030-01-15T08:30"
    assert rows(frame, "messages").count() >= 30
    title = frame.locator("table time").first.get_attribute("title") or ""
    assert " America/New_York · " in title, title
    page.context.close()
