"""Inbox secrets never leak: not in any API answer, not in the logs, not in Airflow's audit log.

An API key, a basic-auth user and a webhook signing secret are created through the API (each
secret answered once), messages are posted with each of them (and with wrong ones), then every
view of the messages, the auth-method list, the captured log records and output, and Airflow's
``log`` table are searched for the secrets and for anything derived from them.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import pytest
from security_helpers import API, INBOX, PROJECT

from openfn_airflow.inbox import auth_methods

pytestmark = [pytest.mark.integration, pytest.mark.security]

PASSWORD = "Corr3ct-Horse-Battery-Staple-7"
WRONG_KEY = "f" * 64
COOKIE = "session=cookie-secret-0c7a"
PROXY = "Basic cHJveHk6cHJveHktc2VjcmV0LTRlOWI="
SECRET_HEADERS = {
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "webhook-signature",
}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def secrets_used(admin: Any, anonymous: Any, project: Any) -> dict[str, str]:
    return use_secrets(admin, anonymous)


def use_secrets(admin: Any, anonymous: Any) -> dict[str, str]:
    """Create the three kinds of auth method through the API and post a message with each.

    Returns every secret, and what is derived from them, by name.
    """
    created = {}
    for kind, extra in (
        ("api_key", {}),
        ("basic", {"username": "odk", "password": PASSWORD}),
        ("webhook", {}),
    ):
        answer = admin.post(f"{API}/projects/{PROJECT}/auth-methods", json={"kind": kind, **extra})
        assert answer.status_code == 201, answer.text
        assert answer.headers["cache-control"] == "no-store"
        created[kind] = answer.json()["secret"]
    assert created["basic"] == PASSWORD

    body = b'{"form": "intake", "name": "Ada"}'
    msg_id, timestamp = "msg_2LhKuYkGbqpsX9", str(int(time.time()))
    signature = auth_methods.webhook_signature(created["webhook"], msg_id, timestamp, body)
    sent = [
        {"x-api-key": created["api_key"], "cookie": COOKIE, "proxy-authorization": PROXY},
        {"authorization": _basic("odk", PASSWORD)},
        {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature},
    ]
    for headers in sent:
        answer = anonymous.post(
            INBOX, content=body, headers={"content-type": "application/json", **headers}
        )
        assert answer.status_code == 202, (headers, answer.text)
    # Wrong credentials are refused and stored nowhere either.
    for headers in (
        {"x-api-key": WRONG_KEY},
        {"authorization": _basic("odk", PASSWORD + "x")},
        {"authorization": "Bearer " + created["api_key"]},
    ):
        answer = anonymous.post(
            INBOX, content=body, headers={"content-type": "application/json", **headers}
        )
        assert answer.status_code in (401, 404), answer.text
    return {
        "api key": created["api_key"],
        "password": PASSWORD,
        "basic header": base64.b64encode(f"odk:{PASSWORD}".encode()).decode(),
        "webhook secret": created["webhook"],
        "webhook secret key": created["webhook"].removeprefix("whsec_"),
        "signature": signature.removeprefix("v1,"),
        "wrong key": WRONG_KEY,
        "wrong password": PASSWORD + "x",
        "cookie": COOKIE.split("=", 1)[1],
        "proxy": PROXY.split(" ", 1)[1],
    }


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, secret in secrets.items() if secret in text]


def test_stored_messages_keep_no_credential_header(secrets_used, project):
    stored = project.execute("SELECT headers FROM openfn_message ORDER BY id").fetchall()

    assert len(stored) == 3
    for row in stored:
        assert not SECRET_HEADERS & set(row["headers"]), row["headers"]
        assert _leaks(str(row["headers"]), secrets_used) == []
    ids = [row["headers"].get("webhook-id") for row in stored]
    assert ids == [None, None, "msg_2LhKuYkGbqpsX9"]


def test_no_api_answer_holds_a_secret(admin, viewer, secrets_used, project):
    message_ids = [row["id"] for row in project.execute("SELECT id FROM openfn_message")]
    answers = [
        admin.get(f"{API}/messages"),
        admin.get(f"{API}/messages", params={"q": "ada"}),
        admin.get(f"{API}/messages.csv"),
        admin.get(f"{API}/projects/{PROJECT}/auth-methods"),
        admin.get(f"{API}/projects"),
        viewer.get(f"{API}/messages"),
        viewer.get(f"{API}/projects/{PROJECT}/auth-methods"),
        *(admin.get(f"{API}/messages/{message_id}") for message_id in message_ids),
        *(admin.post(f"{API}/messages/{message_id}/process") for message_id in message_ids),
    ]

    for answer in answers:
        assert answer.status_code == 200, (answer.request.url, answer.text)
        assert _leaks(answer.text, secrets_used) == [], answer.request.url
        for header in SECRET_HEADERS - {"authorization"}:
            assert f'"{header}"' not in answer.text, (answer.request.url, header)
    methods = answers[3].json()["items"]
    assert {method["kind"] for method in methods} == {"api_key", "basic", "webhook"}
    for method in methods:
        assert set(method) & {"secret", "secret_hash", "secret_encrypted", "password"} == set()


def test_the_pages_show_no_secret(airflow_app, secrets_used, project):
    from fastapi.testclient import TestClient
    from security_helpers import token

    browser = TestClient(airflow_app, cookies={"_token": token(airflow_app, "admin")})
    message_ids = [row["id"] for row in project.execute("SELECT id FROM openfn_message")]
    for path in (
        "inbox",
        f"settings?project={PROJECT}",
        *(f"messages/{message_id}" for message_id in message_ids),
    ):
        answer = browser.get(f"/openfn/ui/{path}")
        assert answer.status_code == 200, (path, answer.status_code)
        assert _leaks(answer.text, secrets_used) == [], path


def test_secrets_reach_no_log(admin, anonymous, project, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    used = use_secrets(admin, anonymous)
    for answer in (admin.get(f"{API}/messages"), admin.get(f"{API}/messages.csv")):
        assert answer.status_code == 200

    out, err = capfd.readouterr()
    logged = "\n".join(
        [record.getMessage() for record in caplog.records]
        + [str(record.args) for record in caplog.records]
        + [caplog.text, out, err]
    )
    assert _leaks(logged, used) == []


def test_secrets_reach_no_audit_log_row(admin, secrets_used, project):
    # Bulk actions are audited too: their rows must not copy a request's credentials either.
    assert admin.post(f"{API}/messages/reprocess", json={"dry_run": True}).status_code == 200
    method_id = admin.get(f"{API}/projects/{PROJECT}/auth-methods").json()["items"][0]["id"]
    # 200: the answer says whether the inbox stays closed (revoking the last method).
    assert admin.delete(f"{API}/projects/{PROJECT}/auth-methods/{method_id}").status_code == 200

    rows = project.execute("SELECT event, extra FROM log WHERE event LIKE 'openfn.%%'").fetchall()

    events = {row["event"] for row in rows}
    assert {"openfn.add_auth_method", "openfn.revoke_auth_method"} <= events, events
    # Airflow's audit log copies request bodies, masking keys it knows to be sensitive.
    assert any('"password": "***"' in (row["extra"] or "") for row in rows), rows
    for row in rows:
        assert _leaks(str(row["extra"]), secrets_used) == [], row
    everything = project.execute("SELECT string_agg(coalesce(extra, ''), ' ') AS t FROM log")
    assert _leaks(everything.fetchone()["t"] or "", secrets_used) == []


JOB_SECRET = "s3cret-pa55"  # the fake_api connection's password (tests/integration/conftest.py)
LEAKY_SPEC = """\
project: leaky
jobs:
  copy:
    file: jobs/copy.py
    credential: fake_api
"""
# A job that copies its credential where a job would: under another key, into a header value.
COPY_JOB = """\
from openfn_airflow.runtime import fn


def copy(state):
    secret = state["configuration"]["password"]
    print(f"calling with Bearer {secret}")
    return {**state, "x": {"token": secret}, "headers": {"Authorization": f"Bearer {secret}"}}


operations = [fn(copy)]
"""


def test_a_job_credential_copied_into_its_state_is_in_no_answer_or_page(
    airflow_app, admin, viewer, project, fake_api, tmp_path
):
    import shutil
    from pathlib import Path

    from factories import serialize_dags
    from fastapi.testclient import TestClient
    from security_helpers import token

    from openfn_airflow.inbox import registry as inbox_registry

    repo = Path(__file__).resolve().parents[3]
    shutil.copy2(repo / "dags" / "openfn_jobs.py", tmp_path)
    (tmp_path / "leaky" / "jobs").mkdir(parents=True)
    (tmp_path / "leaky" / "project.yaml").write_text(LEAKY_SPEC)
    (tmp_path / "leaky" / "jobs" / "copy.py").write_text(COPY_JOB)
    inbox_registry.sync_projects(project, tmp_path, prune=False)
    serialize_dags(tmp_path, "openfn_jobs.py")["openfn__leaky__copy"].test(
        run_conf={"state": {"note": f"Bearer {JOB_SECRET}"}}
    )
    [run] = project.execute("SELECT id, status FROM openfn_run WHERE project = 'leaky'").fetchall()
    assert run["status"] == "success"

    shown = admin.get(f"{API}/runs/{run['id']}")
    assert shown.status_code == 200 and shown.json()["final_state"]["x"] == {"token": "***"}
    browser = TestClient(airflow_app, cookies={"_token": token(airflow_app, "admin")})
    secrets = {
        "job password": JOB_SECRET,
        "job basic header": base64.b64encode(f"openfn:{JOB_SECRET}".encode()).decode(),
    }
    for answer in (
        shown,
        viewer.get(f"{API}/runs/{run['id']}"),
        admin.get(f"{API}/runs", params={"project": "leaky"}),
        admin.get(f"{API}/runs.csv", params={"project": "leaky"}),
        browser.get(f"/openfn/ui/runs/{run['id']}"),
    ):
        assert answer.status_code == 200, (answer.request.url, answer.text[:300])
        assert _leaks(answer.text, secrets) == [], answer.request.url
