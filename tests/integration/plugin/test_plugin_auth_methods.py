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


def test_an_api_key_added_by_an_editor_protects_the_inbox(admin, editor, registry):
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

    revoked_one = editor.delete(f"{METHODS}/{method['id']}")
    assert revoked_one.status_code == 200 and revoked_one.json()["inbox"] == "protected"
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


def test_revoking_the_last_method_keeps_the_inbox_closed_until_an_editor_opens_it(
    admin, editor, viewer, registry
):
    inbox = f"/openfn/inbox/{inbox_id(registry)}"
    registry.commit()
    assert editor.get(METHODS).json()["inbox"] == "open"  # a new project: open, as in OpenFn
    created = editor.post(METHODS, json={"kind": "api_key"}).json()
    assert editor.get(METHODS).json()["inbox"] == "protected"
    assert editor.post(f"{API}/projects/core/inbox/open").status_code == 409  # a method is active

    revoked = editor.delete(f"{METHODS}/{created['method']['id']}")

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["inbox"] == "closed"
    assert "/projects/core/inbox/open" in revoked.json()["message"]
    assert editor.get(METHODS).json()["inbox"] == "closed"
    assert admin.post(inbox, json={"form": "intake"}).status_code == 401
    assert (
        admin.post(
            inbox, json={"form": "intake"}, headers={"x-api-key": created["secret"]}
        ).status_code
        == 401
    )

    assert viewer.post(f"{API}/projects/core/inbox/open").status_code in (403, 404)
    assert admin.post(inbox, json={"form": "intake"}).status_code == 401
    opened = editor.post(f"{API}/projects/core/inbox/open")
    assert opened.status_code == 200, opened.text
    assert opened.json()["inbox"] == "open"
    assert admin.post(inbox, json={"form": "intake"}).status_code == 202
    registry.rollback()
    audit = registry.execute("SELECT count(*) AS n FROM log WHERE event = 'openfn.open_inbox'")
    assert audit.fetchone()["n"] >= 1


def test_a_basic_auth_method_shows_no_part_of_its_password(admin, registry):
    password = "battery-Xy7!"
    created = admin.post(METHODS, json={"kind": "basic", "username": "odk", "password": password})
    key = admin.post(METHODS, json={"kind": "api_key"}).json()["secret"]
    assert created.json()["method"]["secret_hint"] is None
    listed = admin.get(METHODS)
    assert [m["secret_hint"] for m in listed.json()["items"]] == [None, key[-4:]]
    assert "Xy7!" not in listed.text and "y7!" not in listed.text
