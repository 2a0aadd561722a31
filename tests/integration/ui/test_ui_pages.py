"""The OpenFn screens in-process: login redirect, navigation entry, pages and their permissions."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from html import unescape

import pytest
from factories import make_message, make_run
from seed import seed

pytestmark = pytest.mark.integration

UI = "/openfn/ui"
API = "/openfn/api/v1"


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


def test_a_message_page_lists_its_files_with_download_links_and_image_thumbnails(
    admin, viewer, registry
):
    from odk import PHOTO, PHOTO_NAME

    ids = seed(registry)
    page = viewer.get(f"{UI}/messages/{ids['ada']}").text
    files = page.split('data-list="attachments"', 1)[1].split("</table>", 1)[0]

    url = f"{API}/messages/{ids['ada']}/attachments"
    assert files.count("<tr>") == 4  # the header and three files
    assert f'<img class="thumb" src="{url}/1"' in files and f'src="{url}/2"' in files
    assert f'src="{url}/3"' not in files  # a PDF gets no thumbnail, only its link
    assert f'href="{url}/3" download="referral letter.pdf"' in files
    assert "5.6 KB" in files and "application/pdf" in files
    assert viewer.get(f"{url}/1").content == PHOTO
    assert PHOTO_NAME in files and "data-incomplete" not in page
    registry.execute("UPDATE openfn_message SET incomplete = true WHERE id = %s", [ids["ada"]])
    registry.commit()
    assert "ODK Collect is still sending" in admin.get(f"{UI}/messages/{ids['ada']}").text


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
    # At most a minute away: "in 60 seconds" reads "in 1 minute" when asked on the minute.
    assert re.search(r"Next in (\d+ seconds?|1 minute):", counter), counter
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


def test_the_jobs_screen_says_each_jobs_language_and_pinned_adaptor(admin, registry):
    from pathlib import Path

    from openfn_airflow.inbox.registry import sync_projects

    sync_projects(registry, Path(__file__).resolve().parents[3] / "dags")  # the example project
    registry.commit()
    jobs = _job_rows(admin.get(f"{UI}/jobs?project=example").text)
    assert 'data-language="javascript"' in jobs["forward-visit"]
    assert "<code data-adaptor>@openfn/language-http@7.2.10</code>" in jobs["forward-visit"]
    assert 'data-language="python">Python<' in jobs["register-patient"]
    [listed] = admin.get("/openfn/api/v1/jobs?project=example&q=forward").json()["items"]
    assert listed["language"] == "javascript"
    assert listed["adaptors"] == ["@openfn/language-http@7.2.10"]


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


# ---- Bulk actions on an id range ---------------------------------------------------------------


def _id_range_form(html: str, kind: str) -> dict:
    """The filters an id-range form of the page sends with its range (None: no such form)."""
    found = re.search(rf"data-id-range=\"{kind}\" data-filters='([^']*)'", html)
    return json.loads(unescape(found[1])) if found else None


def _received(conn, message_id: int, at: dt.datetime) -> None:
    conn.execute("UPDATE openfn_message SET received_at = %s WHERE id = %s", [at, message_id])


def _created(conn, run_id: int, at: dt.datetime) -> None:
    conn.execute("UPDATE openfn_run SET created_at = %s WHERE id = %s", [at, run_id])


def _ago(**delta: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(**delta)


def test_reprocess_by_id_range_keeps_the_filters_but_not_the_dates(admin, registry):
    ids = seed(registry)
    first = ids["ada"] - 30  # "Person 1"; the 30 people come before Ada
    _received(registry, first + 1, _ago(days=40))
    registry.commit()
    page = admin.get(f"{UI}/inbox?project=core&trigger=forms&q=person&received_after=7d").text
    form = _id_range_form(page, "reprocess")
    assert form == {"project": "core", "q": "person", "trigger": "forms", "received_after": "all"}
    assert (
        "With the current filters: project <strong>core</strong> · body contains "
        "<strong>person</strong> · trigger <strong>forms</strong>; any date." in page
    )
    never_run = admin.get(f"{UI}/inbox?run_state=none&received_after=24h").text
    assert _id_range_form(never_run, "reprocess") == {"run_state": "none", "received_after": "all"}
    assert "latest run <strong>none yet</strong>; any date." in never_run
    assert "Reprocess range…" in page and 'name="from_id"' in page and 'name="to_id"' in page

    # What the form sends counts the range, the old message included, as the confirmation shows.
    dry = admin.post(
        f"{API}/messages/reprocess",
        json={**form, "from_id": first, "to_id": first + 4, "dry_run": True},
    ).json()
    assert dry["count"] == 5 and dry["dry_run"] is True
    outside = admin.post(
        f"{API}/messages/reprocess",
        json={**form, "from_id": ids["ada"], "to_id": ids["other"], "dry_run": True},
    ).json()
    assert outside["count"] == 0  # Ada's body has no "person", the other is not a form


def test_retry_by_id_range_keeps_the_job_and_status_filters(admin, registry):
    ids = seed(registry)
    old = make_run(
        registry, project="core", job="intake", trigger="message", status="crashed", exit_code=5
    )["id"]
    _created(registry, old, _ago(days=40))
    registry.commit()
    page = admin.get(f"{UI}/runs?job=intake&status=failed&status=crashed&after=24h").text
    form = _id_range_form(page, "retry")
    assert form == {"job": "intake", "status": ["failed", "crashed"], "after": "all"}
    assert "job <strong>intake</strong> · status <strong>failed, crashed</strong>" in page

    dry = admin.post(
        f"{API}/runs/retry",
        json={**form, "from_id": ids["ok_run"], "to_id": old, "dry_run": True},
    ).json()
    # Not the succeeded run nor the cron job's, both in the range; the 40-day-old crash is.
    assert dry["count"] == 2 and dry["jobs"] == {"core/intake": 2}


def test_a_viewer_gets_no_id_range_form(admin, viewer, registry):
    seed(registry)
    for path, kind in (("/inbox", "reprocess"), ("/runs", "retry")):
        assert _id_range_form(admin.get(UI + path).text, kind) is not None, path
        page = viewer.get(UI + path).text
        assert _id_range_form(page, kind) is None and "by id…" not in page, path


# ---- Go to page ---------------------------------------------------------------------------------


def _listed(html: str, name: str) -> list[int]:
    """The ids of a list's rows, top to bottom."""
    table = html.split(f'data-list="{name}"')[1].split("</table>")[0]
    return [int(n) for n in re.findall(r'<td class="num"><a href="[^"]*/(\d+)">', table)]


def _page_of(html: str) -> str:
    return " ".join(html.split("data-page-of>")[1].split("</span>")[0].split())


def test_the_inbox_goes_to_a_page_by_number_with_the_filters_and_size_in_the_url(admin, registry):
    ids = seed(registry)
    newest = ids["other"]  # 32 messages, ids 1 to 32
    first = admin.get(f"{UI}/inbox?limit=25").text
    assert _page_of(first) == "Page 1 of 2 · 25 shown"
    assert _listed(first, "messages") == list(range(newest, newest - 25, -1))
    older = re.search(r'href="/openfn/ui/inbox\?([^"]*)" data-next>Older', first)[1]
    assert unescape(older) == f"limit=25&before_id={newest - 24}&page=2"

    second = admin.get(f"{UI}/inbox?limit=25&page=2").text
    assert _page_of(second) == "Page 2 of 2 · 7 shown"
    assert _listed(second, "messages") == list(range(newest - 25, 0, -1))
    assert _listed(second, "messages") == _listed(
        admin.get(f"{UI}/inbox?{unescape(older)}").text, "messages"
    )
    assert "data-next>" not in second and "data-newest>« Newest" in second
    goto = second.split("data-goto>")[1].split("</form>")[0]
    assert '<input type="hidden" name="limit" value="25">' in goto
    assert 'name="page"' in goto and 'value="2"' in goto and "before_id" not in goto

    # The filters are kept, and a page past the end shows the last one and says so.
    people = admin.get(f"{UI}/inbox?q=person&limit=25&page=9").text
    assert "There is no page 9: the last page is 2." in people
    assert _page_of(people) == "Page 2 of 2 · 5 shown"
    assert '<input type="hidden" name="q" value="person">' in people
    assert _listed(people, "messages") == list(range(5, 0, -1))


def test_go_to_page_stops_at_the_count_cap_and_says_so(admin, registry):
    registry.execute(
        "INSERT INTO openfn_message (project, body) "
        "SELECT 'core', jsonb_build_object('n', n) FROM generate_series(1, 10050) AS n"
    )
    registry.commit()
    first = admin.get(f"{UI}/inbox?limit=25").text
    assert _page_of(first) == "Page 1 of more than 400 · 25 shown"
    deepest = admin.get(f"{UI}/inbox?limit=25&page=400").text
    assert _page_of(deepest) == "Page 400 of more than 400 · 25 shown"
    assert _listed(deepest, "messages") == list(range(75, 50, -1))
    past = admin.get(f"{UI}/inbox?limit=25&page=401").text
    assert "Page 401 starts past the first 10,000 messages" in past
    assert "go on page by page with Older" in past
    assert _page_of(past) == "Page 1 of more than 400 · 25 shown"
    assert _listed(past, "messages")[0] == 10050


def test_the_activity_goes_to_a_page_by_number(admin, registry):
    made = [
        make_run(registry, project="core", job="intake", status="failed")["id"] for _ in range(5)
    ]
    registry.commit()
    third = admin.get(f"{UI}/runs?status=failed&limit=2&page=3").text
    assert _page_of(third) == "Page 3 of 3 · 1 shown"
    assert _listed(third, "runs") == [made[0]]
    assert '<input type="hidden" name="status" value="failed">' in third
    page_two = admin.get(f"{UI}/runs?status=failed&limit=2&page=2").text
    assert _listed(page_two, "runs") == [made[2], made[1]]
    assert f"before_id={made[1]}&amp;page=3" in page_two


# ---- Newer and older --------------------------------------------------------------------------


def test_a_message_links_to_the_newer_and_older_message_of_its_project(admin, registry):
    first = make_message(registry, project="core", body={"n": 1})["id"]
    make_message(registry, project="elsewhere", body={"n": 2})
    last = make_message(registry, project="core", body={"n": 3})["id"]
    registry.commit()
    page = admin.get(f"{UI}/messages/{first}").text
    assert f'href="/openfn/ui/messages/{last}" data-newer' in page
    assert "data-older" not in page and "No older message in this project" in page
    page = admin.get(f"{UI}/messages/{last}").text
    assert f'href="/openfn/ui/messages/{first}" data-older' in page
    assert "data-newer" not in page and "No newer message in this project" in page


def test_a_run_links_to_the_newer_and_older_run_of_its_project(admin, registry):
    def run(project: str, job: str) -> int:
        return make_run(registry, project=project, job=job, status="success")["id"]

    first, middle = run("core", "intake"), run("core", "counter")
    run("elsewhere", "intake")
    last = run("core", "intake")
    registry.commit()
    page = admin.get(f"{UI}/runs/{middle}").text
    assert f'href="/openfn/ui/runs/{first}" data-older' in page
    assert f'href="/openfn/ui/runs/{last}" data-newer' in page
    page = admin.get(f"{UI}/runs/{last}").text
    assert f'href="/openfn/ui/runs/{middle}" data-older' in page and "data-newer" not in page


def test_a_run_says_what_ran_it_on_its_page_and_in_the_api(admin, registry):
    ran_with = "Node v20.20.2, @openfn/runtime 1.9.5, @openfn/language-http@7.2.10"
    run_id = make_run(registry, project="core", job="intake", status="success", ran_with=ran_with)
    old = make_run(registry, project="core", job="intake", status="success")  # before 0008
    registry.commit()
    assert admin.get(f"{API}/runs/{run_id['id']}").json()["ran_with"] == ran_with
    assert admin.get(f"{API}/runs/{old['id']}").json()["ran_with"] is None
    page = admin.get(f"{UI}/runs/{run_id['id']}").text
    assert f"<dt>Ran with</dt><dd data-ran-with>{ran_with}</dd>" in page
    assert "Ran with" not in admin.get(f"{UI}/runs/{old['id']}").text


# ---- Custom date ranges in Airflow's time zone --------------------------------------------------


def test_a_custom_range_is_typed_and_shown_in_airflows_time_zone(admin, registry, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TIMEZONE", "Asia/Kolkata")  # UTC+05:30
    at = {"16:30": "11:00", "18:00": "12:30", "00:30 next day": "19:00"}  # IST: UTC
    made = {}
    for local, utc in at.items():
        made[local] = make_message(registry, project="core", body={"at": local})["id"]
        _received(registry, made[local], dt.datetime.fromisoformat(f"2024-05-31T{utc}:00+00:00"))
    registry.commit()

    # Typed in the range inputs (no offset): Airflow's zone. Only 18:00 IST is in 17:30-00:00.
    page = admin.get(
        f"{UI}/inbox?received_after=2024-05-31T17:30&received_before=2024-06-01T00:00"
    ).text
    assert _listed(page, "messages") == [made["18:00"]]
    assert 'data-zone="Asia/Kolkata"' in page
    assert "From (<span data-timezone>Asia/Kolkata</span>)" in page
    assert "To (<span data-timezone>Asia/Kolkata</span>)" in page
    assert 'value="2024-05-31T17:30" data-instant="2024-05-31T17:30:00+05:30"' in page
    assert 'value="2024-06-01T00:00"' in page
    assert "Received (<span data-timezone>Asia/Kolkata</span>)" in page
    assert '<time datetime="2024-05-31T12:30:00+00:00">2024-05-31 18:00:00</time>' in page

    # Links carry the offset: the export is the same list, wherever it is opened.
    export = unescape(re.search(r'href="/openfn/api/v1/messages.csv\?([^"]*)"', page)[1])
    assert "received_after=2024-05-31T17%3A30%3A00%2B05%3A30" in export
    assert "received_before=2024-06-01T00%3A00%3A00%2B05%3A30" in export
    exported = list(csv.DictReader(io.StringIO(admin.get(f"{API}/messages.csv?{export}").text)))
    assert [int(row["id"]) for row in exported] == [made["18:00"]]

    # A bound with an offset (a shared link) is shown in Airflow's zone too.
    shared = admin.get(f"{UI}/runs?after=2024-05-31T12:00:00Z").text
    assert 'value="2024-05-31T17:30" data-instant="2024-05-31T12:00:00+00:00"' in shared
    assert "Started (<span data-timezone>Asia/Kolkata</span>)" in shared


def test_times_default_to_utc(admin, registry):
    page = admin.get(f"{UI}/inbox?received_after=2024-05-31T17:30").text
    assert 'data-zone="UTC"' in page and "From (<span data-timezone>UTC</span>)" in page
    assert 'value="2024-05-31T17:30" data-instant="2024-05-31T17:30:00+00:00"' in page


def test_a_run_whose_log_is_searched_only_in_part_says_how_far(admin, registry):
    line = "GET https://host/api/visits/ok -> 200\n"
    long_log = line * (8 * 1024 * 1024 // len(line) + 10)
    capped = make_run(registry, project="core", job="intake", status="success", log=long_log)
    whole = make_run(registry, project="core", job="intake", status="success", log=line * 10)
    registry.commit()
    page = admin.get(f"{UI}/runs/{capped['id']}").text
    note = re.search(r"<p [^>]*data-log-searchable>(.*?)</p>", page)
    assert note is not None
    assert f"first 8,388,608 of this log's {len(long_log):,} characters" in unescape(note[1])
    assert "data-log-searchable" not in admin.get(f"{UI}/runs/{whole['id']}").text


def test_a_runs_retry_offers_the_message_as_it_is_now_once_the_message_was_edited(admin, registry):
    from openfn_airflow.store import message_versions

    message = make_message(registry, project="core", body={"form": "intake", "name": "Ada"})
    run = make_run(
        registry, project="core", job="intake", message_id=message["id"], status="failed"
    )
    registry.commit()
    before = admin.get(f"{UI}/runs/{run['id']}").text
    assert f'data-action="retry" data-id="{run["id"]}"' in before
    assert "retry-message-run" not in before

    message_versions.edit_body(registry, message["id"], {"form": "intake"}, changed_by="admin")
    registry.commit()
    after = admin.get(f"{UI}/runs/{run['id']}").text
    assert (
        f'data-action="retry-message-run" data-id="{message["id"]}" data-run="{run["id"]}"' in after
    )
    assert "Retry…" in after
