"""Archived jobs on the Jobs screen and in the jobs API: listed apart, with their last run and how
to restore them; never shown as live jobs, even while Airflow still has their DAG.

Page and API tests on the in-process api-server app, then the screen in a real browser (light and
dark screenshots under bench/out/screenshots/).
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from factories import make_run, serialize_dags
from test_ui_browser import (
    CHROMIUM,
    browser,
    full_page_shot,
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
PROJECTS = Path(__file__).resolve().parents[1] / "projects"

SHELF = """
    project: shelf
    triggers:
      forms: {criteria: {form: shelf}}
      old-failed: {failure: old}
    jobs:
      live: {file: jobs/echo.py, trigger: forms}
      old: {file: jobs/echo.py, trigger: forms}
      alert: {file: jobs/echo.py, trigger: old-failed}
"""


def live_rows(html: str) -> dict[str, str]:
    """Each live job's table row of the Jobs page, by job name."""
    found = html.split('<tr data-job="')[1:]
    return {row.split('"', 1)[0]: row.split("</tr>", 1)[0] for row in found}


def archived_rows(html: str) -> dict[str, str]:
    """Each row of the Archived section, by job name."""
    found = html.split('<tr data-archived-job="')[1:]
    return {row.split('"', 1)[0]: row.split("</tr>", 1)[0] for row in found}


def by_name(listed: dict) -> dict[str, dict]:
    return {f"{job['project']}/{job['name']}": job for job in listed["items"]}


def test_archived_jobs_are_listed_apart_with_their_last_run_and_the_way_back(admin, registry):
    run = make_run(registry, project="core", job="retired", trigger="message", status="failed")
    registry.commit()

    page = admin.get(f"{UI}/jobs?project=core")

    assert page.status_code == 200, page.text[:500]
    assert "retired" not in live_rows(page.text)
    assert re.search(
        r'data-total>\d+ jobs, <a href="#archived" data-archived-count>1 archived<', page.text
    )
    archived = page.text.split('<div class="section" data-archived>')[1]
    assert '<h2 id="archived">Archived</h2>' in archived
    retired = archived_rows(page.text)["retired"]
    assert f'href="/openfn/ui/runs/{run["id"]}"' in retired and "badge failed" in retired
    assert 'href="/openfn/ui/runs?project=core&amp;job=retired&amp;after=all"' in retired
    assert "Remove <code>archived: true</code> from <code>jobs.retired</code>" in retired
    assert "{&#34;form&#34;: &#34;intake&#34;}" in retired  # what it listened to
    assert "toggle-job" not in retired and "run-now" not in retired  # nothing to switch or run

    listed = by_name(admin.get(f"{API}/jobs", params={"project": "core"}).json())
    job = listed["core/retired"]
    assert job["archived"] is True and job["dag_id"] == "openfn__core__retired"
    assert job["is_paused"] is None and job["switched"] is None
    assert job["last_run"]["id"] == run["id"] and job["last_run"]["status"] == "failed"
    assert (job["trigger"]["name"], job["trigger"]["kind"]) == ("forms", "message")
    assert job["trigger"]["criteria"] == {"form": "intake"}
    assert listed["core/intake"]["archived"] is False
    # The name and trigger filters find archived jobs too.
    found = admin.get(f"{API}/jobs", params={"project": "core", "q": "RETIR"}).json()
    assert [(j["name"], j["archived"]) for j in found["items"]] == [("retired", True)]
    assert found["total"] == 1
    page = admin.get(f"{UI}/jobs", params={"q": "retired"})
    assert (
        "No live job matches: the archived ones that do are below." in page.text
        and "retired" in archived_rows(page.text)
    )


def test_a_viewer_sees_the_archived_jobs_of_a_project_they_see(viewer, registry):
    make_run(registry, project="inbox", job="old", trigger="message", status="success")
    registry.commit()

    page = viewer.get(f"{UI}/jobs")

    shelved = archived_rows(page.text)
    assert {"retired", "old"} <= set(shelved)
    assert "badge success" in shelved["old"] and "no run to show" in shelved["retired"]
    listed = by_name(viewer.get(f"{API}/jobs").json())
    assert listed["inbox/old"]["archived"] and listed["core/retired"]["archived"]


def test_activity_filtered_on_an_archived_job_keeps_it_chosen(admin, registry):
    run = make_run(registry, project="core", job="retired", trigger="message", status="success")
    other = make_run(registry, project="core", job="intake", trigger="message", status="success")
    registry.commit()

    page = admin.get(f"{UI}/runs", params={"project": "core", "job": "retired", "after": "all"})

    chosen = '<option selected title="Not a live job of the project: archived or removed">retired<'
    assert chosen in page.text
    assert f'href="/openfn/ui/runs/{run["id"]}"' in page.text
    assert f'href="/openfn/ui/runs/{other["id"]}"' not in page.text


@pytest.fixture
def shelf(tmp_path, registry, monkeypatch) -> Path:
    """A DAGs folder holding project shelf (every job live), the one the screens read specs from;
    its DAGs in Airflow's tables and the registry synced from it."""
    from openfn_airflow.bundles import folders
    from openfn_airflow.inbox import settings

    root = tmp_path / "dags"
    shutil.copytree(PROJECTS / "core" / "jobs", root / "shelf" / "jobs")
    (root / "shelf" / "project.yaml").write_text(textwrap.dedent(SHELF))
    shutil.copy(Path(__file__).resolve().parents[3] / "dags" / "openfn_jobs.py", root)
    monkeypatch.setattr(settings, "dags_folder", lambda: str(root))
    monkeypatch.setattr(folders, "REUSE_SECONDS", 0.0)
    serialize_dags(root, "openfn_jobs.py")
    sync(registry, root)
    return root


def sync(conn: Any, folder: Path) -> None:
    from openfn_airflow.inbox.registry import sync_projects

    sync_projects(conn, folder, prune=False)
    conn.commit()


def archive(folder: Path, job: str, archived: bool = True) -> None:
    spec = folder / "shelf" / "project.yaml"
    live = f"  {job}: {{file: jobs/echo.py, trigger: forms}}"
    shelved = f"  {job}: {{file: jobs/echo.py, trigger: forms, archived: true}}"
    text = spec.read_text()
    spec.write_text(text.replace(live, shelved) if archived else text.replace(shelved, live))


def test_a_job_archived_is_never_shown_live_while_airflow_still_has_its_dag(admin, shelf, registry):
    before = live_rows(admin.get(f"{UI}/jobs?project=shelf").text)
    assert (
        sorted(before) == ["alert", "live", "old"]
        and "data-upstream-archived" not in before["alert"]
    )

    archive(shelf, "old")
    # Airflow still has the DAG (not parsed again yet) and the registry has not synced: the spec
    # on disk decides already.
    page = admin.get(f"{UI}/jobs?project=shelf").text
    assert sorted(live_rows(page)) == ["alert", "live"] and list(archived_rows(page)) == ["old"]
    sync(registry, shelf)
    page = admin.get(f"{UI}/jobs?project=shelf").text
    assert sorted(live_rows(page)) == ["alert", "live"] and list(archived_rows(page)) == ["old"]
    stale = registry.execute("SELECT is_stale FROM dag WHERE dag_id = 'openfn__shelf__old'")
    assert stale.fetchone()["is_stale"] is True  # the sync retired Airflow's DAG at once

    # The job on its failure stays, and says that it is only run by hand now.
    alert = live_rows(page)["alert"]
    assert "old is archived: never fires" in alert and "toggle-job" in alert
    listed = by_name(admin.get(f"{API}/jobs", params={"project": "shelf"}).json())
    assert listed["shelf/alert"]["trigger"]["upstream_archived"] is True
    assert listed["shelf/old"]["archived"] is True and listed["shelf/old"]["is_paused"] is None

    archive(shelf, "old", archived=False)  # restored
    sync(registry, shelf)
    page = admin.get(f"{UI}/jobs?project=shelf").text
    assert sorted(live_rows(page)) == ["alert", "live", "old"] and archived_rows(page) == {}
    assert "data-upstream-archived" not in live_rows(page)["alert"]
    assert "data-archived" not in unescape(page)
    # Its DAG is stale until Airflow parses the spec again; then it is on, as it was.
    assert "not in Airflow yet" in live_rows(page)["old"]
    serialize_dags(shelf, "openfn_jobs.py")
    old = live_rows(admin.get(f"{UI}/jobs?project=shelf").text)["old"]
    assert 'data-action="toggle-job" data-dag-id="openfn__shelf__old"' in old
    assert "checked" in old.split('data-action="toggle-job"')[1].split(">")[0]


# ---- In a real browser -------------------------------------------------------------------------


DEMO = """
    project: archive-demo
    triggers:
      export-failed: {failure: nightly-export}
    jobs:
      nightly-export: {file: jobs/echo.py, trigger: {cron: "0 2 * * *"}, archived: true}
      notify-failure: {file: jobs/echo.py, trigger: export-failed}
"""


@pytest.fixture(scope="module", autouse=True)
def demo_project() -> Iterator[None]:
    """Project archive-demo in the DAGs folder the api-server reads (before it starts): a live job
    on the failure of an archived one."""
    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / "archive-demo"
    shutil.copytree(PROJECTS / "core" / "jobs", folder / "jobs")
    (folder / "project.yaml").write_text(textwrap.dedent(DEMO))
    yield
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def archived_runs(seeded: dict[str, int], db_url: str) -> None:
    """Runs of the archived jobs core/retired (two, the last failed) and inbox/old, and project
    archive-demo in the registry.

    The page tests before empty the registry and sync only the test projects; the api-server
    syncs the DAGs folder again only within 10 s, so the screen could still lack archive-demo.
    """
    from openfn_airflow.store.database import connect

    conn = connect(db_url)
    try:
        sync(conn, Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]))
        for status in ("success", "failed"):
            make_run(conn, project="core", job="retired", trigger="message", status=status)
        make_run(conn, project="inbox", job="old", trigger="message", status="success")
        conn.commit()
    finally:
        conn.close()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_admin_sees_the_archived_jobs_apart_and_opens_their_runs(
    browser: Any, server: Any, archived_runs: None, mode: str
) -> None:
    page = log_in(browser, server, "admin", mode)
    frame = open_openfn(page)
    frame.get_by_role("navigation", name="OpenFn").get_by_role("link", name="Jobs").click()
    frame.wait_for_url(re.compile(r"/openfn/ui/jobs"))
    section = frame.locator("[data-archived]")
    section.get_by_role("heading", name="Archived").wait_for()
    assert rows(frame, "jobs").filter(has_text="retired").count() == 0
    shelved = rows(frame, "archived-jobs")
    assert shelved.count() >= 2
    retired = frame.locator('tr[data-archived-job="retired"]')
    assert retired.locator("[data-last-run] .badge.failed").count() == 1
    assert (
        "Remove archived: true from jobs.retired" in retired.locator("[data-restore]").inner_text()
    )
    assert retired.locator("input[role=switch]").count() == 0
    assert retired.get_by_role("button").count() == 0
    section.scroll_into_view_if_needed()
    shot(page, "jobs-archived", mode)
    full_page_shot(page, server, "/jobs", "jobs-archived", mode)

    # A live job on an archived one's failure stays, marked: run by hand only.
    notify = frame.locator('tr[data-job="notify-failure"]')
    notify.scroll_into_view_if_needed()
    assert "nightly-export is archived: never fires" in (
        notify.locator("[data-upstream-archived]").inner_text()
    )
    shot(page, "jobs-archived-upstream", mode)
    assert frame.locator('tr[data-archived-job="nightly-export"] [data-cron]').count() == 1

    # Its runs are in the Activity, filtered on it.
    retired.locator("[data-all-runs]").click()
    frame.wait_for_url(re.compile(r"/openfn/ui/runs\?project=core&job=retired"))
    assert frame.locator("select[name=job]").input_value() == "retired"
    assert rows(frame, "runs").count() == 2
    page.context.close()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_a_viewer_sees_the_archived_section_too(
    browser: Any, server: Any, archived_runs: None
) -> None:
    page = log_in(browser, server, "viewer")
    frame = open_openfn(page)
    frame.goto(f"{server.url}/openfn/ui/jobs")
    frame.locator("[data-archived]").get_by_role("heading", name="Archived").wait_for()
    frame.locator("[data-archived-count]").click()  # "2 archived" leads to the section
    retired = frame.locator('tr[data-archived-job="retired"]')
    assert retired.locator("[data-last-run] .badge.failed").count() == 1
    retired.scroll_into_view_if_needed()
    shot(page, "jobs-archived-viewer", "light")
    page.context.close()
