"""Bad JSON bodies and query strings sent to the API: a clear 4xx, and nothing changes.

Editing a message's body (``PUT messages/{id}``) takes any JSON value: one PostgreSQL cannot
store, or the API could not show again, is refused before the message is touched.
"""

from __future__ import annotations

from typing import Any

import pytest
from security_helpers import API, PROJECT, add_message, count

from openfn_airflow.inbox.bodies import MAX_DEPTH

pytestmark = [pytest.mark.integration, pytest.mark.security]

BODY = {"form": "intake", "name": "Ada"}


@pytest.fixture
def message(project: Any) -> int:
    return add_message(project, BODY)


def _nested(depth: int) -> bytes:
    return b'{"body": ' + b"[" * depth + b"]" * depth + b"}"


def _unchanged(conn: Any, message_id: int) -> None:
    row = conn.execute("SELECT body FROM openfn_message WHERE id = %s", [message_id]).fetchone()
    assert row["body"] == BODY
    assert count(conn, "openfn_message_version", None) == 0


@pytest.mark.parametrize(
    "content",
    [
        b'{"body": "a\\u0000b"}',
        b'{"body": {"k\\u0000": 1}}',
        b'{"body": "\\ud800"}',
        b'{"body": 1e999}',
        b'{"body": -1e999}',
        b'{"body": NaN}',
        b'{"body": Infinity}',
        b'{"body": 1e4300}',
        _nested(MAX_DEPTH + 1),
        _nested(5_000),
        _nested(100_000),
        b'{"body": "\xff\xfe"}',
        b'{"body": ' + b"1" * 5_000 + b"}",
        b'{"body": {"a": 1}, "body": 2',
        b"",
        b"null",
        b'"body"',
        b'{"other": 1}',
    ],
    ids=[
        "nul",
        "nul-in-key",
        "lone-surrogate",
        "infinity",
        "minus-infinity",
        "nan-literal",
        "infinity-literal",
        "too-many-digits-once-stored",
        "nested-past-the-limit",
        "nested-5000",
        "nested-100000",
        "invalid-utf8",
        "long-integer",
        "truncated",
        "empty",
        "null",
        "string",
        "no-body-key",
    ],
)
def test_a_body_that_cannot_be_stored_or_shown_is_refused(admin, project, message, content):
    answer = admin.put(
        f"{API}/messages/{message}", content=content, headers={"content-type": "application/json"}
    )

    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    _unchanged(project, message)
    assert admin.get(f"{API}/messages/{message}").status_code == 200


def test_the_deepest_body_the_inbox_takes_is_taken_as_an_edit(admin, project, message):
    answer = admin.put(
        f"{API}/messages/{message}",
        content=_nested(MAX_DEPTH - 1),
        headers={"content-type": "application/json"},
    )

    assert answer.status_code == 200, answer.text
    assert admin.get(f"{API}/messages").status_code == 200
    assert admin.get(f"{API}/messages/{message}").status_code == 200


@pytest.mark.parametrize(
    "path",
    ["messages/reprocess", "runs/retry", f"projects/{PROJECT}/auth-methods"],
)
@pytest.mark.parametrize(
    "content",
    [b'{"project": "\xff"}', b"[" * 100_000, b'{"dry_run": true', b"\x00", b'{"kind": 1e999}'],
    ids=["invalid-utf8", "deep", "truncated", "nul", "infinity"],
)
def test_bad_json_to_the_other_state_changing_routes_is_4xx(admin, project, path, content):
    answer = admin.post(
        f"{API}/{path}", content=content, headers={"content-type": "application/json"}
    )

    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert count(project, "openfn_dispatch", None) == 0
    assert count(project, "openfn_auth_method", None) == 0


@pytest.mark.parametrize(
    "query",
    [b"q=%FF%FE", b"project=%C0%AF", b"q=%ED%A0%80", b"%FF=1", b"q=\xff", b"status=%00"],
)
@pytest.mark.parametrize("path", ["messages", "runs", "messages.csv", "runs.csv", "jobs"])
def test_invalid_utf8_in_api_query_strings_is_never_a_5xx(airflow_app, project, path, query):
    from security_helpers import raw_request, token

    answer = raw_request(
        airflow_app,
        "GET",
        f"{API}/{path}",
        query=query,
        headers=[(b"authorization", f"Bearer {token(airflow_app, 'admin')}".encode())],
    )

    assert answer.status_code in (200, 422), (answer.status_code, answer.text[:300])
