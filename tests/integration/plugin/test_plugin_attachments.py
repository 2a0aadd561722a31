"""ODK submissions with photos and signatures, through Airflow's real api-server app: stored with
the message, listed in its JSON, downloaded byte for byte, refused whole when over the limit.

The ``odk`` project (a folder of its own) has a trigger on the submission's XML, so a stored
submission is delivered (an outbox row) and a split one only once its last part came.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from odk import (
    PHOTO,
    PHOTO_NAME,
    SIGNATURE,
    SIGNATURE_NAME,
    instance_xml,
    new_instance_id,
    odk_request,
    visit,
)
from plugin_helpers import API

pytestmark = pytest.mark.integration

INBOX_ID = "0d4b8f5e-5c1a-4a43-8a61-7d0f2e9b6c11"
SUBMISSION = f"/openfn/inbox/{INBOX_ID}/submission"
SPEC = f"""\
project: odk
inbox:
  id: {INBOX_ID}
triggers:
  visits:
    criteria: {{data: {{form: visit}}}}
jobs:
  forward:
    file: jobs/echo.py
    trigger: visits
"""


@pytest.fixture(scope="module")
def odk_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("odk-dags")
    (folder / "odk" / "jobs").mkdir(parents=True)
    (folder / "odk" / "project.yaml").write_text(SPEC)
    (folder / "odk" / "jobs" / "echo.py").write_text("operations = []\n")
    return folder


@pytest.fixture
def odk(db_url: str, clean_db: None, odk_folder: Path) -> Iterator[psycopg.Connection[Any]]:
    """Empty openfn_* tables and the ``odk`` project registered; an autocommit connection."""
    from psycopg.rows import dict_row

    from openfn_airflow.inbox import registry

    registry._names.clear()  # memo keyed by ids, which restart with every test's empty tables
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        assert registry.sync_projects(conn, odk_folder, prune=False) == ["odk"]
        yield conn


def submit(client: Any, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(SUBMISSION, content=body, headers=headers)


def message_id_of(answer: Any) -> int:
    assert answer.status_code == 201, answer.text
    assert 'nature="submit_success"' in answer.text
    text = answer.text.split("(message ", 1)[1]
    return int(text.split(")", 1)[0])


def count(conn: psycopg.Connection[Any], table: str) -> int:
    return conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]  # type: ignore[index]


def test_an_odk_submission_is_stored_listed_and_downloaded_byte_for_byte(odk, anonymous, viewer):
    message_id = message_id_of(submit(anonymous, *visit("uuid:visit-1")))

    shown = viewer.get(f"{API}/messages/{message_id}").json()
    assert shown["body"]["data"]["photo"] == PHOTO_NAME
    assert shown["matched"] == ["visits"] and shown["incomplete"] is False
    photo, signature = shown["attachments"]
    assert {k: photo[k] for k in ("position", "name", "field", "content_type", "size")} == {
        "position": 1,
        "name": PHOTO_NAME,
        "field": PHOTO_NAME,
        "content_type": "image/jpeg",
        "size": len(PHOTO),
    }
    assert photo["url"] == f"{API}/messages/{message_id}/attachments/1"
    assert (signature["name"], signature["content_type"]) == (SIGNATURE_NAME, "image/png")

    downloaded = viewer.get(photo["url"])
    assert downloaded.status_code == 200 and downloaded.content == PHOTO
    assert downloaded.headers["content-type"] == "image/jpeg"
    assert downloaded.headers["content-disposition"] == (
        f"attachment; filename=\"{PHOTO_NAME}\"; filename*=UTF-8''{PHOTO_NAME}"
    )
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in downloaded.headers["content-security-policy"]
    assert downloaded.headers["cache-control"] == "no-store"
    by_name = viewer.get(f"{API}/messages/{message_id}/attachments/{SIGNATURE_NAME}")
    assert by_name.status_code == 200 and by_name.content == SIGNATURE

    # The bytes are in the attachments only: not in the body, its search vector or the headers.
    row = odk.execute(
        "SELECT body::text AS body, search_vector::text AS words, headers::text AS headers "
        "FROM openfn_message WHERE id = %s",
        [message_id],
    ).fetchone()
    assert row is not None
    for text in row.values():
        assert "JFIF" not in (text or "") and "IHDR" not in (text or "")
    assert viewer.get(f"{API}/messages", params={"q": "JFIF"}).json()["items"] == []


def test_a_file_that_could_run_script_is_served_as_octet_stream_under_a_safe_name(
    odk, anonymous, viewer
):
    files = [
        ('"évil".html', "text/html", b"<script>alert(1)</script>"),
        ("drawing.svg", "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>'),
    ]
    message_id = message_id_of(
        submit(anonymous, *odk_request(instance_xml(new_instance_id()), files))
    )

    html = viewer.get(f"{API}/messages/{message_id}/attachments/1")
    svg = viewer.get(f"{API}/messages/{message_id}/attachments/2")

    assert html.content == files[0][2] and svg.content == files[1][2]
    for answer in (html, svg):
        assert answer.headers["content-type"] == "application/octet-stream"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert html.headers["content-disposition"] == (
        "attachment; filename=\"__vil_.html\"; filename*=UTF-8''%22%C3%A9vil%22.html"
    )
    # The JSON still says what was sent.
    types = [
        a["content_type"] for a in viewer.get(f"{API}/messages/{message_id}").json()["attachments"]
    ]
    assert types == ["text/html", "image/svg+xml"]


def test_files_are_found_only_on_their_own_message(odk, anonymous, viewer):
    with_files = message_id_of(submit(anonymous, *visit()))
    without = message_id_of(submit(anonymous, *odk_request(instance_xml(new_instance_id()))))

    assert viewer.get(f"{API}/messages/{without}").json()["attachments"] == []
    for path in (
        f"messages/{without}/attachments/1",
        f"messages/{without}/attachments/{PHOTO_NAME}",
        f"messages/{with_files}/attachments/3",
        f"messages/{with_files}/attachments/0",
        f"messages/{with_files}/attachments/{'9' * 30}",
        f"messages/{with_files}/attachments/nothing.jpg",
        "messages/999999/attachments/1",
    ):
        answer = viewer.get(f"{API}/{path}")
        assert answer.status_code == 404, (path, answer.text)
    assert anonymous.get(f"{API}/messages/{with_files}/attachments/1").status_code == 401


def test_a_submission_over_the_limit_is_413_and_stores_nothing(odk, anonymous, monkeypatch):
    body, headers = visit()
    monkeypatch.setenv("AIRFLOW__OPENFN__INBOX_MAX_BODY_BYTES", str(len(body) - 1))

    answer = submit(anonymous, body, headers)

    assert answer.status_code == 413 and 'nature="submit_error"' in answer.text
    assert count(odk, "openfn_message") == 0 and count(odk, "openfn_attachment") == 0
    # ODK Collect is told to send less than that per request: room for the multipart framing.
    head = anonymous.head(SUBMISSION)
    assert int(head.headers["x-openrosa-accept-content-length"]) < len(body) - 1


def test_a_split_submission_is_one_message_delivered_once_its_last_part_came(
    odk, anonymous, viewer
):
    instance = new_instance_id()
    xml = instance_xml(instance)
    first = submit(
        anonymous, *odk_request(xml, [(PHOTO_NAME, "image/jpeg", PHOTO)], incomplete=True)
    )
    message_id = message_id_of(first)

    waiting = viewer.get(f"{API}/messages/{message_id}").json()
    assert waiting["incomplete"] is True and waiting["matched"] == []
    assert [a["name"] for a in waiting["attachments"]] == [PHOTO_NAME]
    assert count(odk, "openfn_dispatch") == 0  # no job runs on half a submission

    last = submit(anonymous, *odk_request(xml, [(SIGNATURE_NAME, "image/png", SIGNATURE)]))

    assert message_id_of(last) == message_id
    done = viewer.get(f"{API}/messages/{message_id}").json()
    assert done["incomplete"] is False and done["matched"] == ["visits"]
    assert [(a["position"], a["name"]) for a in done["attachments"]] == [
        (1, PHOTO_NAME),
        (2, SIGNATURE_NAME),
    ]
    assert viewer.get(done["attachments"][1]["url"]).content == SIGNATURE
    assert count(odk, "openfn_message") == 1 and count(odk, "openfn_dispatch") == 1


def test_a_submission_sent_again_adds_only_new_files_and_is_delivered_once(odk, anonymous, viewer):
    instance = new_instance_id()
    first = message_id_of(submit(anonymous, *visit(instance)))
    again = message_id_of(submit(anonymous, *visit(instance)))
    more = message_id_of(
        submit(
            anonymous,
            *odk_request(
                instance_xml(instance),
                [(PHOTO_NAME, "image/jpeg", PHOTO), ("audio.m4a", "audio/mp4", b"\x00\x00 ftyp")],
            ),
        )
    )

    assert first == again == more
    names = [a["name"] for a in viewer.get(f"{API}/messages/{first}").json()["attachments"]]
    assert names == [PHOTO_NAME, SIGNATURE_NAME, "audio.m4a"]
    assert count(odk, "openfn_message") == 1 and count(odk, "openfn_dispatch") == 1


def test_the_same_instance_with_another_form_or_other_bytes_is_409_and_stores_nothing(
    odk, anonymous
):
    instance = new_instance_id()
    message_id_of(submit(anonymous, *visit(instance)))

    changed = submit(anonymous, *odk_request(instance_xml(instance, patient="Grace Hopper")))
    other_photo = submit(
        anonymous,
        *odk_request(instance_xml(instance), [(PHOTO_NAME, "image/jpeg", b"another photo")]),
    )

    assert changed.status_code == 409 and "another form" in changed.text
    assert other_photo.status_code == 409 and PHOTO_NAME in other_photo.text
    assert 'nature="submit_error"' in other_photo.text
    assert count(odk, "openfn_message") == 1 and count(odk, "openfn_attachment") == 2


def test_a_plain_multipart_post_keeps_its_files_too(odk, anonymous, viewer):
    answer = anonymous.post(
        f"/openfn/inbox/{INBOX_ID}",
        data={"form": "visit", "patient": "Ada"},
        files={"scan": ("referral.jpg", PHOTO, "image/jpeg")},
    )

    assert answer.status_code == 202, answer.text
    shown = viewer.get(f"{API}/messages/{answer.json()['message_id']}").json()
    assert shown["body"] == {"form": "visit", "patient": "Ada"}
    [scan] = shown["attachments"]
    assert (scan["name"], scan["field"]) == ("referral.jpg", "scan")
    assert viewer.get(scan["url"]).content == PHOTO


def test_an_edited_message_keeps_its_files(odk, anonymous, admin):
    message_id = message_id_of(submit(anonymous, *visit()))

    edited = admin.put(f"{API}/messages/{message_id}", json={"body": {"data": {"form": "visit"}}})

    assert edited.status_code == 200 and edited.json()["changed"] is True
    shown = admin.get(f"{API}/messages/{message_id}").json()
    assert len(shown["versions"]) == 1 and len(shown["attachments"]) == 2
    assert admin.get(shown["attachments"][0]["url"]).content == PHOTO
