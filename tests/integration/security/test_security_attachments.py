"""Bad inputs around a message's files: odd names and references, files that could run script,
header injection through a file name, oversized uploads. Through Airflow's real api-server app."""

from __future__ import annotations

from typing import Any

import pytest
from odk import PHOTO, instance_xml, new_instance_id, odk_request
from security_helpers import API, INBOX, stored_nothing

pytestmark = [pytest.mark.integration, pytest.mark.security, pytest.mark.usefixtures("project")]


def upload(anonymous: Any, parts: list[bytes]) -> Any:
    body = b"".join(b"--b0undary\r\n" + part + b"\r\n" for part in parts) + b"--b0undary--\r\n"
    headers = {"content-type": "multipart/form-data; boundary=b0undary"}
    answer = anonymous.post(INBOX, content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    return answer.json()["message_id"]


def test_a_file_name_cannot_add_a_header_to_its_download(anonymous, admin):
    crlf = (
        b'Content-Disposition: form-data; name="f"; '
        b"filename*=UTF-8''a%0D%0ASet-Cookie%3A%20owned%3D1%0D%0A.html\r\n"
        b"Content-Type: text/html\r\n\r\n<script>alert(1)</script>"
    )
    message_id = upload(anonymous, [crlf])

    [file] = admin.get(f"{API}/messages/{message_id}").json()["attachments"]
    answer = admin.get(file["url"])

    assert file["name"] == "a__Set-Cookie: owned=1__.html"
    assert "set-cookie" not in answer.headers
    disposition = answer.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith('attachment; filename="a__Set-Cookie: owned=1__.html"')
    assert answer.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    "ref",
    [
        "..%2f..%2fapp.py",
        "%2e%2e",
        "1%20OR%201=1",
        "1'--",
        "-1",
        "+1",
        "١",  # an Arabic-Indic digit: a name, not a position
        "9" * 40,
        "x" * 255,
    ],
)
def test_odd_references_to_a_file_are_404_never_a_5xx(anonymous, admin, ref):
    message_id = upload(
        anonymous,
        [b'Content-Disposition: form-data; name="f"; filename="a.jpg"\r\n\r\n' + PHOTO],
    )

    answer = admin.get(f"{API}/messages/{message_id}/attachments/{ref}")

    assert answer.status_code == 404, (ref, answer.status_code, answer.text[:200])


def test_a_reference_too_long_or_holding_nul_is_refused(anonymous, admin):
    message_id = upload(
        anonymous, [b'Content-Disposition: form-data; name="f"; filename="a.jpg"\r\n\r\nx']
    )

    assert admin.get(f"{API}/messages/{message_id}/attachments/{'x' * 256}").status_code == 422
    assert admin.get(f"{API}/messages/{message_id}/attachments/a%00b").status_code == 404


def test_an_upload_over_the_limit_stores_no_file(anonymous, project, monkeypatch):
    body, headers = odk_request(
        instance_xml(new_instance_id()), [("big.jpg", "image/jpeg", PHOTO * 20)]
    )
    monkeypatch.setenv("AIRFLOW__OPENFN__INBOX_MAX_BODY_BYTES", str(len(body) // 2))

    answer = anonymous.post(f"{INBOX}/submission", content=body, headers=headers)

    assert answer.status_code == 413
    stored_nothing(project)


def test_two_files_of_one_name_store_nothing(anonymous, project):
    body, headers = odk_request(
        instance_xml(new_instance_id()),
        [("a.jpg", "image/jpeg", b"one"), ("a.jpg", "image/jpeg", b"two")],
    )

    answer = anonymous.post(f"{INBOX}/submission", content=body, headers=headers)

    assert answer.status_code == 400 and "a.jpg" in answer.text
    stored_nothing(project)
