"""Bad deliveries to ``POST /openfn/github/webhook``: refused with a clear 4xx, never a 5xx.

No git bundle is configured here: what is checked is everything before a deployment (the
signature, the size, the payload), and that the webhook secret shows nowhere.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from security_helpers import raw_request

from openfn_airflow.bundles.webhooks import sign

pytestmark = [pytest.mark.integration, pytest.mark.security]

WEBHOOK = "/openfn/github/webhook"
SECRET = "gh-webhook-secret-9f3b1c"
PUSH = {"ref": "refs/heads/main", "after": "0" * 40, "before": "1" * 40}


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> str:
    conn_id = "openfn_security_github"
    monkeypatch.setenv("AIRFLOW__OPENFN__GITHUB_WEBHOOK_CONN_ID", conn_id)
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": "generic", "password": SECRET}),
    )
    return SECRET


def _post(client: Any, body: bytes, *, signature: str | bytes | None, **headers: str) -> Any:
    sent: dict[str, str | bytes] = {
        "content-type": "application/json",
        "x-github-event": "push",
        **headers,
    }
    if signature is not None:
        sent["x-hub-signature-256"] = signature
    return client.post(WEBHOOK, content=body, headers=sent)


def test_without_its_connection_the_webhook_is_404(anonymous, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__GITHUB_WEBHOOK_CONN_ID", "openfn_no_such_connection")
    body = json.dumps(PUSH).encode()

    answer = _post(anonymous, body, signature=sign("anything", body))

    assert answer.status_code == 404 and answer.json()["error"] == "not_configured"


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=",
        "sha256=" + "0" * 64,
        "sha1=" + "0" * 40,
        "sha256=" + "a" * 10_000,
        b"sha256=\xff" + b"0" * 63,
        "sha256=00\r\nSet-Cookie: x=1",
    ],
    ids=range(8),
)
def test_an_unsigned_or_badly_signed_delivery_is_401(anonymous, configured, signature):
    body = json.dumps(PUSH).encode()

    answer = _post(anonymous, body, signature=signature)

    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_signature"
    assert "set-cookie" not in answer.headers


def test_the_signature_of_another_body_is_401(anonymous, configured):
    body = json.dumps(PUSH).encode()
    other = json.dumps({**PUSH, "after": "2" * 40}).encode()

    assert _post(anonymous, other, signature=sign(SECRET, body)).status_code == 401
    assert _post(anonymous, body, signature=sign(SECRET + "x", body)).status_code == 401
    assert _post(anonymous, body, signature=sign(SECRET, body).upper()).status_code != 500


def test_a_body_over_githubs_limit_is_413_before_it_is_read(airflow_app, configured):
    answer = raw_request(
        airflow_app,
        "POST",
        WEBHOOK,
        headers=[(b"content-type", b"application/json"), (b"content-length", b"26214401")],
        body=b"{}",
    )

    assert answer.status_code == 413, answer.text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"ref": "\xff"}', "application/json"),
        (b"not json", "application/json"),
        (b'{"ref": 1e999999, "after": "x"}', "application/json"),
        (b'{"ref": ' + b"1" * 5_000 + b"}", "application/json"),
        (b"payload=%FF", "application/x-www-form-urlencoded"),
        (b"other=1", "application/x-www-form-urlencoded"),
        (b"payload=" + b"%5B" * 50_000, "application/x-www-form-urlencoded"),
        (json.dumps({**PUSH, "after": "../../etc/passwd"}).encode(), "application/json"),
        (json.dumps({**PUSH, "after": "HEAD"}).encode(), "application/json"),
        (json.dumps({**PUSH, "ref": ""}).encode(), "application/json"),
        (json.dumps([PUSH]).encode(), "application/json"),
    ],
    ids=[
        "deep-json",
        "invalid-utf8",
        "not-json",
        "huge-number",
        "long-integer",
        "form-invalid-utf8",
        "form-without-payload",
        "form-deep-payload",
        "after-traversal",
        "after-not-a-commit",
        "empty-ref",
        "not-an-object",
    ],
)
def test_a_signed_delivery_that_is_not_a_push_event_is_400(
    anonymous, configured, body, content_type
):
    answer = _post(anonymous, body, signature=sign(SECRET, body), **{"content-type": content_type})

    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    assert answer.json()["error"] == "bad_payload"


def test_the_delivery_id_is_never_echoed_as_a_header(anonymous, configured):
    body = json.dumps(PUSH).encode()
    answer = _post(
        anonymous,
        body,
        signature=sign(SECRET, body),
        **{"x-github-event": "ping", "x-github-delivery": "d\r\nSet-Cookie: x=1"},
    )

    assert answer.status_code == 200, answer.text
    assert "set-cookie" not in answer.headers


def test_the_webhook_secret_shows_nowhere(anonymous, configured, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    body = json.dumps(PUSH).encode()
    answers = [
        _post(anonymous, body, signature=None),
        _post(anonymous, body, signature="sha256=" + "0" * 64),
        _post(anonymous, b"[", signature=sign(SECRET, b"[")),
    ]

    out, err = capfd.readouterr()
    for text in (*(a.text for a in answers), caplog.text, out, err):
        assert SECRET not in text
