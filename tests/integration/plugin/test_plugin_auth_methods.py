"""Inbox auth methods through the JSON API: editors add and revoke them, everyone else reads."""

from __future__ import annotations

import base64

import pytest
from plugin_helpers import API

pytestmark = pytest.mark.integration

METHODS = f"{API}/projects/core/auth-methods"


def inbox_id(conn) -> str:
    row = conn.execute("SELECT inbox_id::text AS id FROM openfn_project WHERE name = 'core'")
    return row.fetchone()["id"]


def test_an_api_key_added_by_an_editor_opens_the_inbox_until_revoked(admin, editor, registry):
    inbox = f"/openfn/inbox/{inbox_id(registry)}"
    registry.commit()
    assert admin.post(inbox, json={"form": "intake"}).status_code == 202  # no methods: open

    created = editor.post(METHODS, json={"kind": "api_key"})
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    key = created.json()["secret"]
    method = created.json()["method"]
    assert method["kind"] == "api_key" and method["secret_hint"] == key[-4:]

    anonymous_post = {"json": {"form": "intake"}}
    assert admin.post(inbox, **anonymous_post).status_code == 401  # now a credential is needed
    assert admin.post(inbox, headers={"x-api-key": key}, **anonymous_post).status_code == 202

    # a second key for rotation: both work at once
    second = editor.post(METHODS, json={"kind": "api_key"}).json()
    assert admin.post(inbox, headers={"x-api-key": second["secret"]}, **anonymous_post).is_success

    listed = editor.get(METHODS).json()["items"]
    assert [item["id"] for item in listed] == [method["id"], second["method"]["id"]]
    assert key not in editor.get(METHODS).text  # the secret is shown once, never listed

    assert editor.delete(f"{METHODS}/{method['id']}").status_code == 204
    assert admin.post(inbox, headers={"x-api-key": key}, **anonymous_post).status_code == 404
    assert admin.post(inbox, headers={"x-api-key": second["secret"]}, **anonymous_post).is_success
    assert editor.delete(f"{METHODS}/{method['id']}").status_code == 404  # already revoked
    revoked, active = editor.get(METHODS).json()["items"]
    assert revoked["revoked_at"] is not None and active["revoked_at"] is None


def test_basic_auth_with_a_chosen_password_never_reaches_the_audit_log(admin, registry):
    password = "correct horse battery"
    created = admin.post(METHODS, json={"kind": "basic", "username": "odk", "password": password})
    assert created.status_code == 201, created.text
    assert created.json()["secret"] == password
    token = base64.b64encode(f"odk:{password}".encode()).decode()
    inbox = f"/openfn/inbox/{inbox_id(registry)}"
    registry.commit()
    answer = admin.post(inbox, json={"a": 1}, headers={"Authorization": f"Basic {token}"})
    assert answer.status_code == 202

    registry.rollback()
    audit = registry.execute(
        "SELECT extra FROM log WHERE event = 'openfn.add_auth_method' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert audit is not None and "odk" in audit["extra"]
    assert password not in audit["extra"]


def test_bad_requests_are_refused_with_a_reason(admin, registry):
    no_user = admin.post(METHODS, json={"kind": "basic"})
    assert no_user.status_code == 422 and "username" in no_user.text
    short = admin.post(METHODS, json={"kind": "basic", "username": "u", "password": "short"})
    assert short.status_code == 422 and "8 to 128" in short.text
    assert admin.post(METHODS, json={"kind": "api_key", "username": "u"}).status_code == 422
    assert admin.post(METHODS, json={"kind": "ssh"}).status_code == 422
    assert (
        admin.post(f"{API}/projects/nope/auth-methods", json={"kind": "api_key"}).status_code == 404
    )
    assert admin.get(METHODS).json()["items"] == []  # nothing was stored


def test_viewers_read_the_methods_but_cannot_change_them(admin, viewer, anonymous, registry):
    method_id = admin.post(METHODS, json={"kind": "webhook"}).json()["method"]["id"]
    assert viewer.get(METHODS).status_code == 200
    assert viewer.post(METHODS, json={"kind": "api_key"}).status_code == 403
    assert viewer.delete(f"{METHODS}/{method_id}").status_code == 403
    assert anonymous.get(METHODS).status_code == 401
    cross_site = admin.post(
        METHODS,
        json={"kind": "api_key"},
        headers={"Authorization": "", "Cookie": "", "Sec-Fetch-Site": "cross-site"},
    )
    assert cross_site.status_code in (401, 403)
    assert [item["id"] for item in admin.get(METHODS).json()["items"]] == [method_id]
