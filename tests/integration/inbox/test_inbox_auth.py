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


def test_revoking_the_last_method_opens_the_inbox(client, autocommit):
    method, _ = auth_methods.add_api_key(autocommit, PROJECT)
    assert client.post(URL, json=BODY).status_code == 401

    from openfn_airflow.store.auth_methods import revoke_auth_method

    revoke_auth_method(autocommit, PROJECT, method["id"])
    assert client.post(URL, json=BODY).status_code == 202


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
