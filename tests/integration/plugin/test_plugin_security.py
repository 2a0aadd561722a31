"""Every /openfn/api/ route needs an Airflow login; viewers only read; no cross-site writes."""

from __future__ import annotations

import re

import pytest
from plugin_helpers import API, token_for

pytestmark = pytest.mark.integration

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SAMPLE_PATH_PARAMS = {
    "message_id": "1",
    "run_id": "1",
    "name": "core",
    "method_id": "1",
    "job": "intake",
    "attachment": "1",
}


# Routes any caller reaches, each for its reason; every other route of the plugin needs an
# Airflow login (test_every_other_route_refuses_an_anonymous_caller).
PUBLIC = {
    "/inbox/{inbox_id}": "the inbox: its own auth methods decide who may send",
    "/inbox/{inbox_id}/submission": "OpenRosa submissions to the inbox: its own auth methods",
    "/inbox/{inbox_id}/{extra_path:path}": "the inbox under a longer path: its own auth methods",
    "/github/webhook": "GitHub's push deliveries: signed with the webhook's secret",
    "/health": "probed by uptime monitors without an Airflow login, as Airflow's own "
    "/api/v2/monitor/health is; it tells only the canary project's timings, status and "
    "message id (test_plugin_health.py)",
}
SAMPLE_PAGE_PARAMS = {
    "name": "openfn.css",
    "message_id": "1",
    "run_id": "1",
    "dag_id": "openfn__core__intake",
    "dag_run_id": "manual__1",
}


def plugin_routes(airflow_app) -> list[tuple[str, str]]:
    """(method, path template) of every route of the plugin's app."""
    from fastapi.routing import APIRoute
    from starlette.routing import Mount

    [mount] = [r for r in airflow_app.routes if isinstance(r, Mount) and r.path == "/openfn"]
    return [
        (method, route.path)
        for route in mount.app.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]


def api_routes(airflow_app) -> list[tuple[str, str]]:
    """(method, path) of every route the plugin serves under /openfn/api/, path params filled."""
    from fastapi.routing import APIRoute
    from starlette.routing import Mount

    [mount] = [r for r in airflow_app.routes if isinstance(r, Mount) and r.path == "/openfn"]
    found = []
    for route in mount.app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PATH_PARAMS[m[1]], route.path)
        found.extend((method, f"/openfn{path}") for method in sorted(route.methods))
    return found


def call(client, method: str, path: str, **kwargs):
    if method in STATE_CHANGING:
        kwargs.setdefault("json", {"dry_run": True, "body": {}})
    return client.request(method, path, **kwargs)


def test_the_api_has_the_routes_of_the_design(airflow_app):
    paths = {path for _, path in api_routes(airflow_app)}
    for route in (
        "messages",
        "messages/1",
        "messages/1/process",
        "messages/1/attachments/1",
        "messages/reprocess",
        "messages.csv",
        "runs",
        "runs/1",
        "runs/retry",
        "runs.csv",
        "projects",
        "projects/core/usage",
        "projects/core/auth-methods",
        "projects/core/auth-methods/1",
    ):
        assert f"{API}/{route}" in paths


def test_every_api_route_refuses_an_anonymous_caller(airflow_app, anonymous, clean_db):
    routes = api_routes(airflow_app)
    assert len(routes) >= 12
    for method, path in routes:
        answer = call(anonymous, method, path)
        assert answer.status_code == 401, (method, path, answer.text)


def test_every_other_route_refuses_an_anonymous_caller(airflow_app, anonymous, clean_db):
    """A route is public only when PUBLIC names it with its reason: the screens send an
    anonymous visitor to Airflow's login page (the API's 401 is the test above)."""
    others = [(m, p) for m, p in plugin_routes(airflow_app) if p not in PUBLIC]
    unknown = [(m, p) for m, p in others if not p.startswith(("/api/", "/ui/"))]
    assert unknown == [], "authenticate these routes, or add them to PUBLIC with the reason"
    pages = [(m, p) for m, p in others if p.startswith("/ui/")]
    assert len(pages) >= 8
    for method, template in pages:
        path = "/openfn" + re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PAGE_PARAMS[m[1]], template)
        answer = anonymous.request(method, path, follow_redirects=False)
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert "login" in answer.headers["location"], (method, path)


def test_the_public_routes_are_served(airflow_app):
    served = {path for _, path in plugin_routes(airflow_app)}
    assert set(PUBLIC) <= served, set(PUBLIC) - served


def test_every_api_route_refuses_a_forged_token(airflow_app, clean_db):
    from fastapi.testclient import TestClient

    forged = TestClient(airflow_app, headers={"Authorization": "Bearer not.a.jwt"})
    for method, path in api_routes(airflow_app):
        assert call(forged, method, path).status_code == 403, (method, path)


def test_a_viewer_reads_but_changes_nothing(airflow_app, viewer, registry):
    for method, path in api_routes(airflow_app):
        answer = call(viewer, method, path)
        if method in STATE_CHANGING:
            assert answer.status_code == 403, (method, path, answer.text)
        else:
            assert answer.status_code in (200, 404), (method, path, answer.text)


def test_an_editor_may_reprocess_retry_and_edit(editor, registry):
    from factories import make_message

    message_id = make_message(registry, project="core", body={"form": "intake"})["id"]
    registry.commit()
    assert editor.post(f"{API}/messages/reprocess", json={"dry_run": True}).status_code == 200
    assert editor.post(f"{API}/runs/retry", json={"dry_run": True}).status_code == 200
    edited = editor.put(f"{API}/messages/{message_id}", json={"body": {"form": "intake", "n": 1}})
    assert edited.status_code == 200 and edited.json()["changed"] is True


@pytest.fixture
def cookie_admin(airflow_app):
    """The admin signed in to the UI: the JWT in the ``_token`` cookie, no Authorization header."""
    from fastapi.testclient import TestClient

    return TestClient(airflow_app, cookies={"_token": token_for(airflow_app, "admin")})


def test_the_ui_cookie_authenticates(cookie_admin, clean_db):
    assert cookie_admin.get(f"{API}/messages").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://sub.testserver"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
    ],
)
def test_a_cross_site_cookie_request_changes_nothing(cookie_admin, registry, headers):
    from factories import make_message

    message_id = make_message(registry, project="core", body={"form": "intake"})["id"]
    registry.commit()
    for method, path, body in (
        ("POST", f"{API}/messages/reprocess", {}),
        ("POST", f"{API}/messages/{message_id}/process", None),
        ("PUT", f"{API}/messages/{message_id}", {"body": {"hacked": True}}),
        ("POST", f"{API}/runs/retry", {}),
    ):
        answer = cookie_admin.request(method, path, json=body, headers=headers)
        assert answer.status_code == 403, (method, path, answer.text)
        assert "Cross-site" in answer.json()["detail"]
    registry.rollback()
    assert registry.execute("SELECT count(*) AS n FROM openfn_dispatch").fetchone()["n"] == 0
    assert registry.execute("SELECT count(*) AS n FROM openfn_message_version").fetchone()["n"] == 0


def test_a_same_origin_cookie_request_passes(cookie_admin, registry):
    same_origin = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    answer = cookie_admin.post(
        f"{API}/messages/reprocess", json={"dry_run": True}, headers=same_origin
    )
    assert answer.status_code == 200


def test_a_bearer_token_is_not_a_browser_request(admin, registry):
    # Only a client holding the token can send it: the Origin header does not matter then.
    answer = admin.post(
        f"{API}/messages/reprocess", json={"dry_run": True}, headers={"Origin": "https://x.example"}
    )
    assert answer.status_code == 200
