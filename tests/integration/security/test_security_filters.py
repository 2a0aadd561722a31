"""SQL-ish, LIKE and tsquery syntax in every text filter: plain values, never syntax.

Each filter value either finds what it says literally (nothing, here) or is refused with a clear
4xx; no query widens, nothing is queued, no other project's data shows, no table is touched.
"""

from __future__ import annotations

from typing import Any

import pytest
from security_helpers import API, PROJECT, SQLISH, add_message, add_run, count, token

pytestmark = [pytest.mark.integration, pytest.mark.security]

OTHER_BODY = "xylophone-of-the-other-project"


@pytest.fixture
def seeded(project: Any) -> dict[str, int]:
    """Two messages and two runs of the project, one message and run of another project."""
    ids = {
        "zulu": add_message(project, {"form": "intake", "name": "zulu yankee"}),
        "plain": add_message(project, {"form": "intake", "name": "whiskey"}),
        "other": add_message(project, {"form": "intake", "note": OTHER_BODY}, project="other"),
    }
    ids["run"] = add_run(project, message_id=ids["zulu"], log="zulu yankee went wrong")
    add_run(project, log="whiskey", status="success")
    add_run(project, project="other", job="intake", log=OTHER_BODY)
    return ids


def _filters_of(path: str) -> list[str]:
    return {
        "messages": ["q", "project", "job"],
        "runs": ["q", "project", "job"],
        "jobs": ["q", "project"],
    }[path]


def _untouched(conn: Any) -> None:
    """The seeded rows are all there and nothing was queued or retried."""
    assert count(conn, "openfn_message", None) == 3
    assert count(conn, "openfn_run", None) == 3
    assert count(conn, "openfn_dispatch", None) == 0
    assert count(conn, "openfn_message_version", None) == 0


@pytest.mark.parametrize("value", SQLISH, ids=range(len(SQLISH)))
def test_sqlish_text_filters_find_nothing_and_change_nothing(admin, seeded, project, value):
    window = {"messages": {"received_after": "all"}, "runs": {"after": "all"}, "jobs": {}}
    for path in ("messages", "runs", "jobs"):
        for name in _filters_of(path):
            params = {name: value, **window[path]}
            if path == "messages" and name == "job":  # the job whose latest run state counts
                params["run_state"] = "failed"
            answer = admin.get(f"{API}/{path}", params=params)
            assert answer.status_code == 200, (path, name, answer.text)
            items = answer.json()["items"]
            # Words of these values are not word prefixes of any seeded body or log.
            assert items == [], (path, name, value, items)
            assert OTHER_BODY not in answer.text
        for csv in ("messages.csv", "runs.csv") if path != "jobs" else ():
            exported = admin.get(f"{API}/{csv}", params={"project": value, "job": value})
            assert exported.status_code == 200, exported.text
            assert exported.text.count("\n") == 1, exported.text  # the header row only
    for path, body in (
        ("messages/reprocess", {"q": value, "dry_run": True}),
        ("messages/reprocess", {"project": value, "job": value, "run_state": "failed"}),
        ("runs/retry", {"q": value, "dry_run": True}),
        ("runs/retry", {"project": value, "job": value}),
    ):
        answer = admin.post(
            f"{API}/{path}", json={**body, "after": "all"} if "runs" in path else body
        )
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["count"] == 0, (path, answer.json())
    _untouched(project)


@pytest.mark.parametrize("value", SQLISH, ids=range(len(SQLISH)))
def test_sqlish_trigger_and_project_names_are_clear_4xx(admin, seeded, project, value):
    for params in ({"project": PROJECT, "trigger": value}, {"trigger": value}):
        for path in ("messages", "messages.csv"):
            answer = admin.get(f"{API}/{path}", params=params)
            assert answer.status_code == 400, (path, params, answer.text)
        answer = admin.post(f"{API}/messages/reprocess", json={**params, "dry_run": False})
        assert answer.status_code == 400, answer.text
    for route in ("usage", "auth-methods"):
        answer = admin.get(f"{API}/projects/{value}/{route}")
        assert answer.status_code in (404, 405), (route, answer.status_code, answer.text)
    answer = admin.post(f"{API}/projects/{value}/auth-methods", json={"kind": "api_key"})
    assert answer.status_code in (404, 405), answer.text
    assert count(project, "openfn_auth_method", None) == 0
    _untouched(project)


def test_the_words_of_a_query_are_all_required_never_or_ed(admin, seeded):
    def found(q: str) -> list[int]:
        answer = admin.get(f"{API}/messages", params={"q": q})
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert found("zul") == [seeded["zulu"]]
    assert found("zul yank") == [seeded["zulu"]]
    assert found("zulu' OR 1=1 --") == []
    assert found("zulu | whiskey") == []
    assert found("!zulu") == [seeded["zulu"]]  # "!" is not syntax: the word is zulu
    assert found("zulu:*") == [seeded["zulu"]]
    assert found("whisk & !zulu") == []
    runs = admin.get(f"{API}/runs", params={"q": "zulu' OR 'a'='a"}).json()["items"]
    assert runs == []
    runs = admin.get(f"{API}/runs", params={"q": "wrong zul"}).json()["items"]
    assert [run["id"] for run in runs] == [seeded["run"]]


@pytest.mark.parametrize("name", ["q", "project", "job", "trigger"])
@pytest.mark.parametrize("value", ["a\x00b", "\x00"], ids=["inner", "alone"])
def test_nul_in_a_text_filter_is_422(admin, seeded, project, name, value):
    for path in ("messages", "messages.csv", "runs", "runs.csv", "jobs"):
        if name == "trigger" and path.startswith(("runs", "jobs")):
            continue
        if name == "job" and path == "jobs":
            continue
        params = {name: value, "project": PROJECT} if name == "trigger" else {name: value}
        answer = admin.get(f"{API}/{path}", params=params)
        assert answer.status_code == 422, (path, name, answer.status_code, answer.text)
    for path in ("messages/reprocess", "runs/retry"):
        if name == "trigger" and path == "runs/retry":
            continue
        answer = admin.post(f"{API}/{path}", json={name: value})
        assert answer.status_code == 422, (path, name, answer.status_code, answer.text)
    _untouched(project)


@pytest.mark.parametrize("route", ["usage", "auth-methods"])
def test_nul_in_a_project_name_is_a_clear_4xx(admin, seeded, project, route):
    answer = admin.get(f"{API}/projects/a%00b/{route}")

    assert answer.status_code in (404, 422), answer.text
    posted = admin.post(f"{API}/projects/a%00b/auth-methods", json={"kind": "api_key"})
    assert posted.status_code in (404, 422), posted.text
    revoked = admin.delete(f"{API}/projects/a%00b/auth-methods/1")
    assert revoked.status_code in (404, 422), revoked.text
    assert count(project, "openfn_auth_method", None) == 0


def test_very_long_filter_values_are_422_or_find_nothing(admin, seeded, project):
    for path in ("messages", "runs"):
        assert admin.get(f"{API}/{path}", params={"q": "zulu " * 201}).status_code == 422
        for name in ("project", "job"):
            # On messages, job only says whose latest run run_state looks at.
            params = {name: "z" * 30_000}
            if path == "messages" and name == "job":
                params["run_state"] = "failed"
            answer = admin.get(f"{API}/{path}", params=params)
            assert answer.status_code == 200 and answer.json()["items"] == [], answer.text[:300]
    answer = admin.get(f"{API}/messages", params={"project": PROJECT, "trigger": "t" * 30_000})
    assert answer.status_code == 400
    _untouched(project)


TOO_BIG = [str(2**63), str(10**40), "-1", "0", "1e3", "1.5", "0x10", "١"]


@pytest.mark.parametrize("value", TOO_BIG)
@pytest.mark.parametrize("name", ["from_id", "to_id", "before_id", "limit"])
def test_ids_out_of_range_in_lists_are_422(admin, seeded, project, name, value):
    for path in ("messages", "runs"):
        answer = admin.get(f"{API}/{path}", params={name: value})
        assert answer.status_code == 422, (path, answer.status_code, answer.text)
    if name != "limit":
        answer = admin.get(f"{API}/runs", params={"message_id": value})
        assert answer.status_code == 422, answer.text
    if name in ("from_id", "to_id"):
        for path in ("messages/reprocess", "runs/retry"):
            answer = admin.post(f"{API}/{path}", json={name: value})
            assert answer.status_code == 422, (path, answer.text)
    _untouched(project)


@pytest.mark.parametrize("value", [str(2**63), str(10**40)])
def test_a_project_auth_method_id_out_of_range_is_4xx(admin, seeded, project, value):
    answer = admin.delete(f"{API}/projects/{PROJECT}/auth-methods/{value}")

    assert answer.status_code in (404, 422), answer.text


@pytest.mark.parametrize("value", [str(2**63), str(10**40)])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "messages/{}"),
        ("PUT", "messages/{}"),
        ("POST", "messages/{}/process"),
        ("GET", "runs/{}"),
    ],
)
def test_a_message_or_run_id_out_of_range_is_4xx(admin, seeded, project, method, path, value):
    body = {"body": {"form": "intake"}} if method == "PUT" else None
    answer = admin.request(method, f"{API}/{path.format(value)}", json=body)

    assert answer.status_code in (404, 422), answer.text
    _untouched(project)


@pytest.mark.parametrize(
    "value", ["' OR 1=1 --", "1d; DROP TABLE openfn_run", "9999999d", "2024-13-45", "\x00", "%"]
)
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("messages", "received_after"),
        ("messages", "received_before"),
        ("runs", "after"),
        ("runs", "before"),
    ],
)
def test_bad_time_bounds_are_422(admin, seeded, project, path, name, value):
    answer = admin.get(f"{API}/{path}", params={name: value})

    assert answer.status_code == 422, (answer.status_code, answer.text)
    _untouched(project)


@pytest.mark.parametrize("value", ["' OR 1=1 --", "%", "a\x00b", "\\", "&|!", "x" * 5_000])
def test_the_pages_take_the_same_values(airflow_app, seeded, value):
    """The screens read the same filters (their own code is another engineer's: only no 5xx)."""
    from fastapi.testclient import TestClient

    browser = TestClient(airflow_app, cookies={"_token": token(airflow_app, "viewer")})
    for path, params in (
        ("inbox", {"q": value}),
        ("inbox", {"project": value, "trigger": value}),
        ("inbox", {"job": value, "run_state": "failed"}),
        ("runs", {"q": value}),
        ("runs", {"project": value, "job": value}),
        ("jobs", {"q": value, "project": value}),
        ("settings", {"project": value}),
    ):
        answer = browser.get(f"/openfn/ui/{path}", params=params)
        assert answer.status_code < 500, (path, params, answer.status_code)
        assert OTHER_BODY not in answer.text


@pytest.mark.parametrize(
    "path", ["messages", "messages.csv", "runs", "runs.csv", "jobs"], ids=lambda p: p
)
def test_a_filter_given_twice_is_refused_not_half_applied(admin, seeded, path):
    answer = admin.get(f"{API}/{path}?q=zulu&q=whiskey&project={PROJECT}")
    assert answer.status_code == 422, answer.text
    assert "q is given twice" in answer.text


def test_a_list_filter_may_be_given_many_times(admin, seeded):
    answer = admin.get(f"{API}/runs?status=failed&status=success&after=all&project={PROJECT}")
    assert answer.status_code == 200 and len(answer.json()["items"]) == 2, answer.text
