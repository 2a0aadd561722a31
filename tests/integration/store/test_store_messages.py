"""Messages as the inbox stores them and the API reads them back."""

from __future__ import annotations

import pytest
from factories import make_message

from openfn_airflow.store import messages

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_db")]


def test_insert_then_get_returns_what_was_received(conn):
    message_id = messages.insert_message(
        conn,
        project="demo",
        body={"formID": "patient_registration", "age": 8, "tags": ["a", "b"]},
        headers={"content-type": "application/json"},
        path="/openfn/inbox/7c1e",
        query={"source": "odk"},
    )

    message = messages.get_message(conn, message_id)
    assert message["project"] == "demo"
    assert message["body"] == {"formID": "patient_registration", "age": 8, "tags": ["a", "b"]}
    assert message["headers"] == {"content-type": "application/json"}
    assert (message["method"], message["path"]) == ("POST", "/openfn/inbox/7c1e")
    assert message["query"] == {"source": "odk"}
    assert message["received_at"] is not None


def test_any_json_body_and_no_headers(conn):
    message = make_message(conn, body=[1, "two", None], headers=None, query=None)

    assert message["body"] == [1, "two", None]
    assert message["headers"] == {}
    assert message["query"] is None


def test_get_messages_keeps_the_order_asked_and_skips_missing(conn):
    first, second, third = (make_message(conn, body={"n": n})["id"] for n in range(3))

    found = messages.get_messages(conn, [third, 404, first, second])

    assert [m["id"] for m in found] == [third, first, second]
    assert [m["body"] for m in found] == [{"n": 2}, {"n": 0}, {"n": 1}]
    assert messages.get_messages(conn, []) == []


def test_get_message_of_unknown_id_is_none(conn):
    assert messages.get_message(conn, 404) is None
