"""Inbox credentials through Airflow's real app: checked before the body, guesses limited, a
revoked inbox kept closed, no part of a password shown, no inbox id in what readers see."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from security_helpers import API, INBOX, INBOX_ID, PROJECT, count

from openfn_airflow.inbox import auth_methods

pytestmark = pytest.mark.integration

METHODS = f"{API}/projects/{PROJECT}/auth-methods"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def post_never_sending_the_body(app: Any, headers: dict[str, str]) -> tuple[int, int]:
    """POST headers announcing a 5 MB body that never comes; return the status and how often the
    app asked for the body. An app that waits for the body never answers: the guard fails."""
    asked: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        asked.append(1)
        await asyncio.sleep(3600)  # a client that sent its headers, and then nothing
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": INBOX,
        "raw_path": INBOX.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", b"5000000"),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ],
        "client": ("203.0.113.5", 50000),
        "server": ("testserver", 80),
    }

    async def call() -> None:
        await asyncio.wait_for(app(scope, receive, send), timeout=60)  # a hang guard only

    asyncio.run(call())
    [status] = [m["status"] for m in sent if m["type"] == "http.response.start"]
    return status, len(asked)


def test_wrong_or_missing_credentials_are_answered_before_the_body_arrives(airflow_app, project):
    auth_methods.add_api_key(project, PROJECT)
    auth_methods.add_basic(project, PROJECT, "odk", "right horse battery")

    assert post_never_sending_the_body(airflow_app, {}) == (401, 0)
    assert post_never_sending_the_body(airflow_app, {"x-api-key": "guess"}) == (404, 0)
    assert post_never_sending_the_body(airflow_app, basic("odk", "wrong horse")) == (404, 0)
    assert post_never_sending_the_body(airflow_app, basic("nobody", "x" * 9)) == (404, 0)
    assert count(project, "openfn_message") == 0


def test_a_flood_of_wrong_passwords_is_limited_and_nothing_answers_5xx(
    anonymous, project, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__OPENFN__INBOX_AUTH_FAILURES_PER_MINUTE", "5")
    _, key = auth_methods.add_api_key(project, PROJECT)
    auth_methods.add_basic(project, PROJECT, "odk", "right horse battery")

    answers = [
        anonymous.post(INBOX, json={"n": n}, headers=basic("odk", f"guess {n}")) for n in range(30)
    ]

    assert [a.status_code for a in answers] == [404] * 5 + [429] * 25
    assert all(1 <= int(a.headers["retry-after"]) <= 60 for a in answers[5:])
    assert anonymous.post(INBOX, json={}, headers={"x-api-key": key}).status_code == 202
    assert count(project, "openfn_message") == 1
    row = project.execute("SELECT failures FROM openfn_auth_failure").fetchone()
    assert row["failures"] == 5  # counted up to the limit; past it no password is even verified


def test_a_closed_inbox_refuses_every_kind_of_request(admin, anonymous, project):
    created = admin.post(METHODS, json={"kind": "api_key"}).json()
    revoked = admin.delete(f"{METHODS}/{created['method']['id']}")
    assert revoked.status_code == 200 and revoked.json()["inbox"] == "closed"
    key = {"x-api-key": created["secret"]}

    assert anonymous.post(INBOX, json={"a": 1}).status_code == 401
    assert anonymous.post(INBOX, json={"a": 1}, headers=key).status_code == 401
    assert anonymous.post(f"{INBOX}/Patient", json={"a": 1}).status_code == 401
    assert anonymous.get(INBOX).status_code == 401
    assert anonymous.head(f"{INBOX}/submission").status_code == 401
    assert anonymous.post(f"{INBOX}/submission", content=b"x").status_code == 401
    assert count(project, "openfn_message") == 0

    assert admin.post(f"{API}/projects/{PROJECT}/inbox/open").status_code == 200
    assert anonymous.post(INBOX, json={"a": 1}).status_code == 202


def test_opening_an_inbox_needs_an_editor_and_no_active_method(admin, viewer, anonymous, project):
    opened = f"{API}/projects/{PROJECT}/inbox/open"
    assert anonymous.post(opened).status_code == 401
    assert viewer.post(opened).status_code in (403, 404)
    admin.post(METHODS, json={"kind": "api_key"})
    assert admin.post(opened).status_code == 409
    assert admin.post(f"{API}/projects/no-such/inbox/open").status_code == 404
    assert anonymous.post(INBOX, json={"a": 1}).status_code == 401  # still protected


def test_no_part_of_a_basic_password_is_shown(admin, viewer, project):
    password = "staple-horse-Wq8$"
    admin.post(METHODS, json={"kind": "basic", "username": "odk", "password": password})

    for client in (admin, viewer):
        listed = client.get(METHODS)
        assert listed.status_code == 200
        assert "Wq8$" not in listed.text and "q8$" not in listed.text and "8$" not in listed.text
        assert "odk" in listed.text
    stored = repr(project.execute("SELECT * FROM openfn_auth_method").fetchall())
    assert "Wq8$" not in stored


def test_readers_of_a_message_never_see_the_inbox_id(anonymous, viewer, project):
    assert anonymous.post(INBOX, json={"form": "intake"}).status_code == 202
    assert anonymous.post(f"{INBOX}/Patient/7", json={"form": "intake"}).status_code == 202

    listed = viewer.get(f"{API}/messages")
    [first_id, *_] = sorted(item["id"] for item in listed.json()["items"])
    one = viewer.get(f"{API}/messages/{first_id}")
    exported = viewer.get(f"{API}/messages.csv")

    for answer in (listed, one, exported):
        assert answer.status_code == 200, answer.text
        assert INBOX_ID not in answer.text
    assert "/openfn/inbox/{inbox}/Patient/7" in exported.text
