"""Inbox auth methods: API keys, basic auth and signed webhooks; the CLI that manages them."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path

import pytest
from inbox_helpers import INBOX_ID, PROJECT, autocommit, client, count, registry

from openfn_airflow.inbox import auth_methods

__all__ = ["autocommit", "client", "registry"]

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("registry")]

URL = f"/openfn/inbox/{INBOX_ID}"
BODY = {"form": "patient"}
CLI = Path(sys.executable).parent / "openfn-airflow"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_no_methods_means_open(client):
    assert client.post(URL, json=BODY).status_code == 202
    assert client.post(URL, json=BODY, headers={"x-api-key": "anything"}).status_code == 202


def test_api_key(client, autocommit):
    _, key = auth_methods.add_api_key(autocommit, PROJECT)

    assert client.post(URL, json=BODY, headers={"x-api-key": key}).status_code == 202
    missing = client.post(URL, json=BODY)
    other_last = "1" if key.endswith("0") else "0"  # one character off, never the key itself
    wrong = client.post(URL, json=BODY, headers={"x-api-key": key[:-1] + other_last})

    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    assert wrong.status_code == 404 and wrong.json()["error"] == "inbox_not_found"
    assert count(autocommit, "openfn_message") == 1
    # stored hashed: the key itself is nowhere in the table
    stored = autocommit.execute(
        "SELECT secret_hash, secret_hint FROM openfn_auth_method"
    ).fetchone()
    assert stored["secret_hash"] != key and key not in stored["secret_hash"]
    assert stored["secret_hint"] == key[-4:]


def test_two_keys_at_once_then_one_revoked(client, autocommit):
    old, old_key = auth_methods.add_api_key(autocommit, PROJECT)
    _, new_key = auth_methods.add_api_key(autocommit, PROJECT)

    assert client.post(URL, json=BODY, headers={"x-api-key": old_key}).status_code == 202
    assert client.post(URL, json=BODY, headers={"x-api-key": new_key}).status_code == 202

    from openfn_airflow.store.auth_methods import revoke_auth_method

    assert revoke_auth_method(autocommit, PROJECT, old["id"])
    assert client.post(URL, json=BODY, headers={"x-api-key": old_key}).status_code == 404
    assert client.post(URL, json=BODY, headers={"x-api-key": new_key}).status_code == 202


def test_basic_auth(client, autocommit):
    method, password = auth_methods.add_basic(autocommit, PROJECT, "odk")

    assert client.post(URL, json=BODY, headers=basic("odk", password)).status_code == 202
    # verified again from the in-process cache, still checked against the stored method
    assert client.post(URL, json=BODY, headers=basic("odk", password)).status_code == 202
    assert client.post(URL, json=BODY, headers=basic("odk", password + "x")).status_code == 404
    assert client.post(URL, json=BODY, headers=basic("other", password)).status_code == 404
    assert client.post(URL, json=BODY, headers={"Authorization": "Basic %%%"}).status_code == 404
    missing = client.post(URL, json=BODY)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Basic")

    from openfn_airflow.store.auth_methods import revoke_auth_method

    auth_methods.add_api_key(autocommit, PROJECT)  # still protected once the user is revoked
    revoke_auth_method(autocommit, PROJECT, method["id"])
    assert client.post(URL, json=BODY, headers=basic("odk", password)).status_code == 404


def test_revoking_the_last_method_keeps_the_inbox_closed_until_opened(client, autocommit):
    method, key = auth_methods.add_api_key(autocommit, PROJECT)
    assert client.post(URL, json=BODY).status_code == 401

    from openfn_airflow.store.auth_methods import inbox_state, open_inbox, revoke_auth_method

    revoke_auth_method(autocommit, PROJECT, method["id"])
    refused = client.post(URL, json=BODY)
    assert refused.status_code == 401 and "closed" in refused.json()["message"]
    assert client.post(URL, json=BODY, headers={"x-api-key": key}).status_code == 401
    assert client.get(URL).status_code == 401
    assert inbox_state(autocommit, PROJECT) == "closed"
    assert count(autocommit, "openfn_message") == 0

    assert open_inbox(autocommit, PROJECT)
    assert inbox_state(autocommit, PROJECT) == "open"
    assert client.post(URL, json=BODY).status_code == 202


def test_an_inbox_with_an_active_method_cannot_be_opened(client, autocommit):
    from openfn_airflow.store.auth_methods import inbox_state, open_inbox

    assert inbox_state(autocommit, PROJECT) == "open"  # a new project's inbox, as OpenFn's
    auth_methods.add_api_key(autocommit, PROJECT)
    assert inbox_state(autocommit, PROJECT) == "protected"
    assert not open_inbox(autocommit, PROJECT)
    assert client.post(URL, json=BODY).status_code == 401


def asgi_post(app, path: str, headers: dict[str, str], body: bytes) -> tuple[int, int]:
    """POST through the ASGI interface itself; return the status and how often the app asked
    for the body (``receive()``)."""
    import asyncio

    asked: list[int] = []
    sent: list[dict] = []

    async def receive() -> dict:
        asked.append(1)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (name.lower().encode(), value.encode())
            for name, value in {**headers, "content-length": str(len(body))}.items()
        ],
        "client": ("192.0.2.7", 40000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    [status] = [m["status"] for m in sent if m["type"] == "http.response.start"]
    return status, len(asked)


def test_credentials_are_checked_before_the_body_is_read(client, autocommit):
    _, key = auth_methods.add_api_key(autocommit, PROJECT)
    _, password = auth_methods.add_basic(autocommit, PROJECT, "odk")
    body, json_type = b'{"form": "patient"}', {"content-type": "application/json"}

    missing = asgi_post(client.app, URL, json_type, body)
    wrong_key = asgi_post(client.app, URL, {**json_type, "x-api-key": "nope"}, body)
    wrong_password = asgi_post(client.app, URL, {**json_type, **basic("odk", "wrong pw")}, body)
    right = asgi_post(client.app, URL, {**json_type, "x-api-key": key}, body)
    right_password = asgi_post(client.app, URL, {**json_type, **basic("odk", password)}, body)

    assert missing == (401, 0)
    assert wrong_key == (404, 0)
    assert wrong_password == (404, 0)
    assert right[0] == 202 and right[1] >= 1
    assert right_password[0] == 202 and right_password[1] >= 1


def test_a_closed_inbox_reads_no_body(client, autocommit):
    from openfn_airflow.store.auth_methods import revoke_auth_method

    method, key = auth_methods.add_api_key(autocommit, PROJECT)
    revoke_auth_method(autocommit, PROJECT, method["id"])
    assert asgi_post(client.app, URL, {"x-api-key": key}, b"{}") == (401, 0)


@pytest.fixture
def three_failures_a_minute(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__INBOX_AUTH_FAILURES_PER_MINUTE", "3")


def test_wrong_credentials_are_limited_per_inbox_and_client(
    client, autocommit, db_url, three_failures_a_minute
):
    from fastapi.testclient import TestClient

    _, key = auth_methods.add_api_key(autocommit, PROJECT)
    _, password = auth_methods.add_basic(autocommit, PROJECT, "odk")
    wrong = [client.post(URL, json=BODY, headers={"x-api-key": f"guess {n}"}) for n in range(3)]
    limited = client.post(URL, json=BODY, headers=basic("odk", "guess 4 pw"))

    assert [answer.status_code for answer in wrong] == [404, 404, 404]
    assert limited.status_code == 429 and limited.json()["error"] == "too_many_requests"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # a right key still gets in from the limited address; a password not verified before is
    # not checked at all (no scrypt) until the minute is over
    assert client.post(URL, json=BODY, headers={"x-api-key": key}).status_code == 202
    assert client.post(URL, json=BODY, headers=basic("odk", password)).status_code == 429
    assert client.post(URL, json=BODY, headers={"x-api-key": "guess 5"}).status_code == 429
    # missing credentials are no guess: still 401
    assert client.post(URL, json=BODY).status_code == 401

    # another address is not limited; the count is in PostgreSQL, not in this process's memory
    with TestClient(client.app, client=("198.51.100.9", 50000)) as other:
        assert other.post(URL, json=BODY, headers={"x-api-key": "guess"}).status_code == 404
        assert other.post(URL, json=BODY, headers=basic("odk", password)).status_code == 202
    from openfn_airflow.plugin.routers import inbox

    inbox.close_pool()
    auth_methods._verified.clear()  # as another api-server process: nothing in memory
    assert client.post(URL, json=BODY, headers={"x-api-key": "guess 6"}).status_code == 429
    rows = autocommit.execute(
        "SELECT client, failures FROM openfn_auth_failure ORDER BY client"
    ).fetchall()
    assert [(row["client"], row["failures"]) for row in rows] == [
        ("198.51.100.9", 1),
        ("testclient", 5),
    ]

    # the next minute starts over
    autocommit.execute(
        "UPDATE openfn_auth_failure SET window_started_at = now() - interval '61 seconds'"
    )
    assert client.post(URL, json=BODY, headers=basic("odk", password)).status_code == 202


def test_no_limit_when_set_to_zero(client, autocommit, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__INBOX_AUTH_FAILURES_PER_MINUTE", "0")
    _, key = auth_methods.add_api_key(autocommit, PROJECT)
    answers = {
        client.post(URL, json=BODY, headers={"x-api-key": "no"}).status_code for _ in range(25)
    }
    assert answers == {404}


def test_no_part_of_a_basic_password_is_stored_or_listed(client, autocommit):
    from openfn_airflow.store.auth_methods import list_auth_methods

    method, password = auth_methods.add_basic(autocommit, PROJECT, "odk", "zebra-Qx7#")
    _, key = auth_methods.add_api_key(autocommit, PROJECT)
    stored = autocommit.execute("SELECT * FROM openfn_auth_method ORDER BY id").fetchall()
    listed = list_auth_methods(autocommit, PROJECT)

    assert method["secret_hint"] is None
    assert "Qx7#" not in repr(stored) and "x7#" not in repr(listed)
    assert [m["secret_hint"] for m in listed] == [None, key[-4:]]
    assert listed[0]["username"] == "odk"


def test_the_stored_path_has_no_inbox_id(client, autocommit):
    client.post(URL, json=BODY)
    client.post(URL + "/Patient/7", json=BODY)
    paths = [
        row["path"] for row in autocommit.execute("SELECT path FROM openfn_message ORDER BY id")
    ]
    assert paths == ["/openfn/inbox/{inbox}", "/openfn/inbox/{inbox}/Patient/7"]


def test_auth_is_checked_before_the_body_is_parsed(client, autocommit):
    auth_methods.add_api_key(autocommit, PROJECT)
    answer = client.post(URL, content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 401


def test_last_used_is_recorded(client, autocommit):
    method, key = auth_methods.add_api_key(autocommit, PROJECT)
    client.post(URL, json=BODY, headers={"x-api-key": key})
    row = autocommit.execute(
        "SELECT last_used_at FROM openfn_auth_method WHERE id = %s", [method["id"]]
    ).fetchone()
    assert row["last_used_at"] is not None


def _signed(secret: str, body: bytes, *, msg_id: str = "msg_1", at: int | None = None) -> dict:
    timestamp = str(int(time.time()) if at is None else at)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1,bm90LWl0 "
        + auth_methods.webhook_signature(secret, msg_id, timestamp, body),
    }


@pytest.fixture
def fernet_key(monkeypatch):
    """Airflow's [core] fernet_key set, as in production."""
    from airflow.models.crypto import get_fernet
    from cryptography.fernet import Fernet

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    get_fernet.cache_clear()
    yield
    get_fernet.cache_clear()


def test_standard_webhooks_signature(client, autocommit, fernet_key):
    _, secret = auth_methods.add_webhook(autocommit, PROJECT)
    body = b'{"form": "patient"}'
    assert secret.startswith("whsec_")

    assert client.post(URL, content=body, headers=_signed(secret, body)).status_code == 202
    tampered = client.post(URL, content=body + b" ", headers=_signed(secret, body, msg_id="m2"))
    stale = client.post(
        URL, content=body, headers=_signed(secret, body, msg_id="m3", at=int(time.time()) - 600)
    )
    [message] = autocommit.execute("SELECT headers FROM openfn_message").fetchall()

    assert tampered.status_code == 404
    assert stale.status_code == 404
    assert "webhook-signature" not in message["headers"]
    assert message["headers"]["webhook-id"] == "msg_1"
    stored = autocommit.execute("SELECT secret_encrypted FROM openfn_auth_method").fetchone()
    assert stored["secret_encrypted"].startswith("fernet:")
    assert secret not in stored["secret_encrypted"]


def test_wrong_credentials_on_get_are_404(client, autocommit):
    auth_methods.add_api_key(autocommit, PROJECT)
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers={"x-api-key": "nope"}).status_code == 404


def test_cli_inbox_url(autocommit):
    url = subprocess.run(
        [str(CLI), "inbox-url", PROJECT], capture_output=True, text=True, timeout=120, check=False
    )
    assert url.returncode == 0, url.stderr
    assert url.stdout.strip().endswith(f"/openfn/inbox/{INBOX_ID}")


def test_cli_auth_commands(client, autocommit, capsys):
    from openfn_airflow.cli import main

    def openfn_airflow(*args: str) -> subprocess.CompletedProcess[str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    added = openfn_airflow("auth", "add-key", PROJECT)
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    assert len(key) == 64 and "shown only this once" in added.stderr

    user = openfn_airflow("auth", "add-basic", PROJECT, "collect")
    assert user.returncode == 0, user.stderr
    password = user.stdout.strip()

    listed = openfn_airflow("auth", "list", PROJECT)
    assert listed.returncode == 0, listed.stderr
    assert "api_key" in listed.stdout and "collect" in listed.stdout
    assert key not in listed.stdout and password not in listed.stdout

    assert client.post(URL, json=BODY, headers={"x-api-key": key}).status_code == 202
    assert client.post(URL, json=BODY, headers=basic("collect", password)).status_code == 202

    key_id = autocommit.execute(
        "SELECT id FROM openfn_auth_method WHERE kind = 'api_key'"
    ).fetchone()["id"]
    revoked = openfn_airflow("auth", "revoke", PROJECT, str(key_id))
    assert revoked.returncode == 0, revoked.stderr
    assert client.post(URL, json=BODY, headers={"x-api-key": key}).status_code == 404
    assert openfn_airflow("auth", "revoke", PROJECT, str(key_id)).returncode == 1
    assert openfn_airflow("auth", "list", "no-such-project").returncode == 1
