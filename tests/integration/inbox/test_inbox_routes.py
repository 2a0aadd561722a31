"""The inbox over HTTP (its router on a bare FastAPI app): what is stored, matched and refused."""

from __future__ import annotations

import gzip

import pytest
from inbox_helpers import INBOX_ID, airflow_dags, autocommit, client, count, registry

__all__ = ["airflow_dags", "autocommit", "client", "registry"]

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("registry")]

URL = f"/openfn/inbox/{INBOX_ID}"
# Stored without the inbox id (a credential of an open inbox).
STORED_PATH = "/openfn/inbox/{inbox}"


def messages(conn) -> list[dict]:
    return conn.execute(
        "SELECT id, body, headers, method, path, query, content_type, size_bytes, "
        "search_vector IS NOT NULL AS indexed FROM openfn_message ORDER BY id"
    ).fetchall()


def dispatched(conn, message_id: int) -> list[str]:
    rows = conn.execute(
        "SELECT trigger FROM openfn_dispatch WHERE message_id = %s ORDER BY trigger", [message_id]
    ).fetchall()
    return [row["trigger"] for row in rows]


def test_json_message_is_stored_matched_and_dispatched(client, autocommit):
    answer = client.post(
        URL + "?source=clinic",
        json={"form": "patient", "name": "Ada"},
        headers={"x-forwarded-for": "10.0.0.1", "cookie": "session=secret"},
    )

    assert answer.status_code == 202, answer.text
    [message] = messages(autocommit)
    assert answer.json() == {"message_id": message["id"], "matched": ["patients"]}
    assert message["body"] == {"form": "patient", "name": "Ada"}
    assert message["method"] == "POST" and message["path"] == STORED_PATH
    assert message["query"] == {"source": "clinic"}
    assert message["headers"]["x-forwarded-for"] == "10.0.0.1"
    assert "cookie" not in message["headers"]
    assert message["content_type"] == "application/json" and message["indexed"]
    assert dispatched(autocommit, message["id"]) == ["patients"]


def test_exclusion_filter_excludes(client, autocommit):
    answer = client.post(URL, json={"form": "patient", "test": True})

    assert answer.status_code == 202
    assert answer.json()["matched"] == []
    assert dispatched(autocommit, answer.json()["message_id"]) == []
    assert count(autocommit, "openfn_message") == 1  # stored all the same, to reprocess later


def test_array_filters_match_any_element(client):
    home = client.post(URL, json={"form": "visit", "data": [{"kind": "clinic"}, {"kind": "home"}]})
    clinic = client.post(URL, json={"form": "visit", "data": [{"kind": "clinic"}]})
    assert home.json()["matched"] == ["visits"]
    assert clinic.json()["matched"] == []


@pytest.mark.parametrize("form", ["by-hand", "switched-off"])
def test_job_with_autoprocess_off_or_switched_off_gets_no_dispatch(client, autocommit, form):
    answer = client.post(URL, json={"form": form})
    assert answer.status_code == 202
    assert answer.json()["matched"] == []
    assert count(autocommit, "openfn_dispatch") == 0


def test_job_paused_in_airflow_gets_no_dispatch(airflow_dags, client, autocommit):
    autocommit.execute("UPDATE dag SET is_paused = true WHERE dag_id = 'openfn__inbox__visit'")
    try:
        paused = client.post(URL, json={"form": "visit", "data": [{"kind": "home"}]})
    finally:
        autocommit.execute("UPDATE dag SET is_paused = false WHERE dag_id = 'openfn__inbox__visit'")
    running = client.post(URL, json={"form": "visit", "data": [{"kind": "home"}]})

    assert paused.json()["matched"] == []
    assert running.json()["matched"] == ["visits"]
    assert count(autocommit, "openfn_dispatch") == 1


def test_form_xml_and_gzip_bodies(client, autocommit):
    form = client.post(URL, content=b"form=patient&tag=a&tag=b", headers=_type("form"))
    xml = client.post(URL, content=b'<form id="x">patient</form>', headers=_type("text/xml"))
    zipped = client.post(
        URL,
        content=gzip.compress(b'{"form": "patient"}'),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )

    assert [a.status_code for a in (form, xml, zipped)] == [202, 202, 202]
    bodies = [m["body"] for m in messages(autocommit)]
    assert bodies == [
        {"form": "patient", "tag": ["a", "b"]},
        {"form": {"@id": "x", "#text": "patient"}},
        {"form": "patient"},
    ]
    assert form.json()["matched"] == zipped.json()["matched"] == ["patients"]


def _type(kind: str) -> dict[str, str]:
    if kind == "form":
        kind = "application/x-www-form-urlencoded"
    return {"content-type": kind}


def test_extra_path_is_kept(client, autocommit):
    answer = client.post(URL + "/Patient/7", json={"form": "patient"})
    assert answer.status_code == 202
    assert messages(autocommit)[0]["path"] == STORED_PATH + "/Patient/7"


@pytest.mark.parametrize(
    ("content", "headers", "status", "where"),
    [
        (b'{"form": "patient",,}', _type("application/json"), 400, "line 1, column 20"),
        (b"<form><a></form>", _type("application/xml"), 400, "line 1, column"),
        (b"hello", _type("text/plain"), 415, "text/plain"),
        (b"{}", {**_type("application/json"), "content-encoding": "br"}, 415, "br"),
    ],
    ids=["malformed-json", "malformed-xml", "unsupported-type", "unsupported-encoding"],
)
def test_refused_bodies_store_nothing(client, autocommit, content, headers, status, where):
    answer = client.post(URL, content=content, headers=headers)

    assert answer.status_code == status
    assert where in answer.json()["message"]
    assert count(autocommit, "openfn_message") == 0


def test_body_over_the_limit_is_413_and_stores_nothing(client, autocommit, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__INBOX_MAX_BODY_BYTES", "1000")
    big = client.post(URL, json={"form": "patient", "pad": "x" * 2000})
    bomb = client.post(
        URL,
        content=gzip.compress(b'{"pad": "' + b"x" * 100_000 + b'"}'),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )

    assert big.status_code == 413 and big.json()["error"] == "payload_too_large"
    assert bomb.status_code == 413
    assert count(autocommit, "openfn_message") == 0


@pytest.mark.parametrize("inbox_id", ["3d9c1f0e-6a55-4b8e-9f0a-7c2e4b1d5a99", "not-a-uuid"])
def test_unknown_inbox_is_404_and_stores_nothing(client, autocommit, inbox_id):
    answer = client.post(f"/openfn/inbox/{inbox_id}", json={"form": "patient"})
    assert answer.status_code == 404
    assert answer.json()["error"] == "inbox_not_found"
    assert client.get(f"/openfn/inbox/{inbox_id}").status_code == 404
    assert count(autocommit, "openfn_message") == 0


def test_idempotent_repeat_stores_nothing(client, autocommit):
    first = client.post(URL, json={"form": "patient"}, headers={"Idempotency-Key": "k-1"})
    again = client.post(URL, json={"form": "other"}, headers={"Idempotency-Key": "k-1"})
    other = client.post(URL, json={"form": "patient"}, headers={"Idempotency-Key": "k-2"})

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert other.json()["message_id"] != first.json()["message_id"]
    assert count(autocommit, "openfn_message") == 2
    assert count(autocommit, "openfn_dispatch") == 2


def test_idempotency_key_expires_after_a_day(client, autocommit):
    first = client.post(URL, json={"form": "patient"}, headers={"Idempotency-Key": "daily"})
    autocommit.execute("UPDATE openfn_message SET received_at = now() - interval '25 hours'")

    later = client.post(URL, json={"form": "patient"}, headers={"Idempotency-Key": "daily"})

    assert later.status_code == 202
    assert later.json()["message_id"] != first.json()["message_id"]
    assert count(autocommit, "openfn_message") == 2


def test_webhook_id_is_an_idempotency_key(client, autocommit):
    headers = {"webhook-id": "msg_2Lh9", "webhook-timestamp": "1700000000"}
    first = client.post(URL, json={"form": "patient"}, headers=headers)
    again = client.post(URL, json={"form": "patient"}, headers=headers)
    assert again.json() == first.json()
    assert count(autocommit, "openfn_message") == 1


def test_get_says_the_inbox_exists(client):
    answer = client.get(URL)
    assert answer.status_code == 200
    assert answer.json() == {"message": "OpenFn inbox found. POST a message to it."}


def test_openrosa_head_and_submission(client, autocommit):
    head = client.head(URL + "/submission")
    assert head.status_code == 204
    assert head.headers["x-openrosa-version"] == "1.0"
    assert int(head.headers["x-openrosa-accept-content-length"]) > 0

    submission = (
        b'<data xmlns="http://openrosa.org/formdesigner/F" id="visit"><form>patient</form></data>'
    )
    answer = client.post(
        URL + "/submission",
        files={
            "xml_submission_file": ("submission.xml", submission, "text/xml"),
            "photo": ("photo.jpg", b"\xff\xd8\xff", "image/jpeg"),
        },
    )

    assert answer.status_code == 201, answer.text
    assert answer.headers["x-openrosa-version"] == "1.0"
    assert 'nature="submit_success"' in answer.text
    [message] = messages(autocommit)
    assert message["body"] == {
        "data": {"@xmlns": "http://openrosa.org/formdesigner/F", "@id": "visit", "form": "patient"}
    }
    assert message["path"] == STORED_PATH + "/submission"


def test_openrosa_submission_without_its_xml_part_is_refused(client, autocommit):
    answer = client.post(URL + "/submission", files={"other": ("a.txt", b"x", "text/plain")})
    assert answer.status_code == 400
    assert 'nature="submit_error"' in answer.text
    assert count(autocommit, "openfn_message") == 0


def test_database_down_is_503_with_retry_after(client, monkeypatch):
    from openfn_airflow.plugin.routers import inbox

    inbox.close_pool()
    monkeypatch.setenv("AIRFLOW__OPENFN__DATABASE_URL", "postgresql://postgres@127.0.0.1:9/none")
    monkeypatch.setattr(inbox, "POOL_TIMEOUT_SECONDS", 0.5)
    try:
        answer = client.post(URL, json={"form": "patient"})
    finally:
        inbox.close_pool()

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["error"] == "service_unavailable"


def test_a_connection_the_server_closed_is_replaced(client, autocommit):
    assert client.post(URL, json={"form": "patient"}).status_code == 202
    # The server ends every idle connection (a restart, an idle timeout): the pool's one is dead.
    autocommit.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = '' AND pid <> pg_backend_pid()"
        " AND state = 'idle'"
    )

    answer = client.post(URL, json={"form": "patient"})

    assert answer.status_code == 202, answer.text
    assert count(autocommit, "openfn_message") == 2


CREDENTIAL_HEADERS = {
    "X-Auth-Token": "tok-3f9a",
    "X-Hub-Signature-256": "sha256=5d1c0ffee",
    "Private-Token": "glpat-7h2k",
    "X-Shopify-Access-Token": "shpat-91b",
    "X-Api-Secret": "s3cr3t-ab",
    "Api-Key": "k-77e1",
    "X-Session-Id": "sess-4c2",
    "X-Csrf-Token": "csrf-0d9",
    "X-Password": "pw-51f",
    "Proxy-Authorization": "Basic cHJveHk6cHc=",
    "X-Forwarded-Authorization": "Bearer fwd-61a",
    "Cookie": "sid=cookie-8e3",
    "Set-Cookie": "sid=set-cookie-2b7",
}


def test_every_header_carrying_a_credential_is_left_out_of_the_message(client, autocommit):
    answer = client.post(
        URL,
        json={"form": "patient"},
        headers={
            **CREDENTIAL_HEADERS,
            "Idempotency-Key": "order-1",
            "User-Agent": "clinic-app/2.1",
            "X-Request-Id": "req-42",
            "X-GitHub-Event": "push",
            "Webhook-Timestamp": "1700000000",
        },
    )

    assert answer.status_code == 202, answer.text
    [message] = messages(autocommit)
    stored = message["headers"]
    assert not {name.lower() for name in CREDENTIAL_HEADERS} & set(stored), stored
    for value in CREDENTIAL_HEADERS.values():
        assert value not in str(stored)
    assert stored["content-type"] == "application/json"
    assert stored["user-agent"] == "clinic-app/2.1" and stored["x-request-id"] == "req-42"
    assert stored["x-github-event"] == "push" and stored["webhook-timestamp"] == "1700000000"
    # The idempotency key is no credential: kept, and it still makes a repeat a no-op.
    assert stored["idempotency-key"] == "order-1"
    again = client.post(URL, json={"form": "other"}, headers={"Idempotency-Key": "order-1"})
    assert again.json() == answer.json() and count(autocommit, "openfn_message") == 1
