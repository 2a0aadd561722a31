"""Multipart bodies: an ODK submission's XML is the body, every other file an attachment, byte
for byte; bad files get a clear error."""

from __future__ import annotations

import gzip
import hashlib

import pytest
from odk import PHOTO, PHOTO_NAME, SIGNATURE, SIGNATURE_NAME, instance_xml, odk_request, visit

from openfn_airflow.inbox.bodies import parse_body
from openfn_airflow.inbox.errors import InboxError
from openfn_airflow.inbox.multipart import MAX_FILES

LIMIT = 64 * 1024


def openrosa(body: bytes, headers: dict[str, str], limit: int = LIMIT):
    return parse_body(body, headers, max_bytes=limit, openrosa=True)


def form(*parts: bytes, limit: int = LIMIT, openrosa_route: bool = False):
    body = b"".join(b"--XyZ\r\n" + part + b"\r\n" for part in parts) + b"--XyZ--\r\n"
    headers = {"content-type": "multipart/form-data; boundary=XyZ"}
    return parse_body(body, headers, max_bytes=limit, openrosa=openrosa_route)


def file_part(field: str, filename: str | None, data: bytes, content_type: str | None = None):
    disposition = f'form-data; name="{field}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"Content-Disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + data


def refused(*parts: bytes, **kwargs) -> InboxError:
    with pytest.raises(InboxError) as caught:
        form(*parts, **kwargs)
    return caught.value


def test_an_odk_submission_keeps_its_xml_as_body_and_its_files_byte_for_byte():
    body, headers = visit("uuid:6f1c")

    parsed = openrosa(body, headers)

    assert parsed.body["data"]["photo"] == PHOTO_NAME
    assert parsed.body["data"]["orx:meta"] == {"orx:instanceID": "uuid:6f1c"}
    assert parsed.content_type == "application/xml"
    assert parsed.instance_id == "uuid:6f1c" and parsed.incomplete is False
    photo, signature = parsed.attachments
    assert (photo.name, photo.field, photo.content_type) == (PHOTO_NAME, PHOTO_NAME, "image/jpeg")
    assert photo.data == PHOTO and photo.size == len(PHOTO)
    assert photo.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert (signature.name, signature.content_type, signature.data) == (
        SIGNATURE_NAME,
        "image/png",
        SIGNATURE,
    )
    # The bytes are in no part of what the body becomes.
    assert "JFIF" not in parsed.json_text and "PNG" not in parsed.json_text


def test_a_request_marked_incomplete_says_so_and_the_mark_is_no_file():
    body, headers = odk_request(
        instance_xml("uuid:1"), [(PHOTO_NAME, "image/jpeg", PHOTO)], incomplete=True
    )

    parsed = openrosa(body, headers)

    assert parsed.incomplete is True
    assert [a.name for a in parsed.attachments] == [PHOTO_NAME]


def test_the_instance_id_is_found_with_or_without_a_namespace_prefix():
    plain = b'<data id="f"><meta><instanceID> uuid:2 </instanceID></meta></data>'
    none = b'<data id="f"><n>1</n></data>'
    for xml, expected in ((plain, "uuid:2"), (none, None)):
        body, headers = odk_request(xml)
        assert openrosa(body, headers).instance_id == expected


def test_a_plain_multipart_post_keeps_its_text_fields_as_body_and_its_files_as_attachments():
    parsed = form(
        file_part("name", None, b"Ada"),
        file_part("photo", "ada.jpg", PHOTO, "image/jpeg"),
        file_part("tag", None, b"x"),
        file_part("tag", None, b"y"),
    )

    assert parsed.body == {"name": "Ada", "tag": ["x", "y"]}
    assert parsed.content_type == "multipart/form-data"
    [photo] = parsed.attachments
    assert (photo.name, photo.field, photo.data) == ("ada.jpg", "photo", PHOTO)
    assert parsed.instance_id is None  # only the OpenRosa route merges requests


def test_a_file_input_left_empty_is_skipped_but_an_empty_file_is_kept():
    parsed = form(
        file_part("name", None, b"Ada"),
        file_part("skipped", "", b"", "application/octet-stream"),
        file_part("empty", "empty.txt", b"", "text/plain"),
    )

    [empty] = parsed.attachments
    assert (empty.name, empty.size, empty.content_type) == ("empty.txt", 0, "text/plain")


def test_file_names_lose_their_folders_and_control_characters_and_fall_back_to_the_field():
    parsed = form(
        file_part("a", "C:\\\\Users\\\\ada\\\\scan.pdf", b"1"),
        file_part("b", "../../etc/passwd", b"2"),
        file_part("c", "tab\there.txt", b"3"),
        file_part("from-field", "", b"4"),
        b"Content-Disposition: form-data\r\n\r\n5",
    )

    names = [a.name for a in parsed.attachments]
    assert names == ["scan.pdf", "passwd", "tab_here.txt", "from-field", "file-5"]


def test_utf8_file_names_are_kept():
    parsed = form(file_part("f", "fotó 日本.jpg", b"x"), file_part("g", None, b"y"))
    assert parsed.attachments[0].name == "fotó 日本.jpg"


def test_the_same_file_twice_is_kept_once_and_two_files_of_one_name_are_refused():
    twice = form(file_part("a", "x.jpg", b"same"), file_part("b", "x.jpg", b"same"))
    assert [a.name for a in twice.attachments] == ["x.jpg"]

    error = refused(file_part("a", "x.jpg", b"one"), file_part("b", "x.jpg", b"two"))
    assert (error.status, error.error) == (400, "duplicate_file_name")
    assert "x.jpg" in error.message


def test_two_submission_parts_a_long_name_and_too_many_files_are_refused():
    two_xml = refused(
        file_part("xml_submission_file", "a.xml", b"<a/>"),
        file_part("xml_submission_file", "b.xml", b"<b/>"),
    )
    assert two_xml.status == 400 and "2 xml_submission_file parts" in two_xml.message

    long_name = refused(file_part("f", "x" * 256 + ".jpg", b"1"))
    assert (long_name.status, long_name.error) == (400, "invalid_file_name")

    many = [file_part(f"f{n}", f"{n}.txt", b"") for n in range(MAX_FILES + 1)]
    too_many = refused(*many, limit=1024 * 1024)
    assert (too_many.status, too_many.error) == (400, "too_many_files")


def test_content_types_are_media_types_or_octet_stream():
    parsed = form(
        file_part("a", "a.jpg", b"1", "IMAGE/JPEG; name=a.jpg"),
        file_part("b", "b.bin", b"2"),
        file_part("c", "c.bin", b"3", "not a type"),
        file_part("d", "d.html", b"<script>", "text/html"),
    )
    assert [a.content_type for a in parsed.attachments] == [
        "image/jpeg",
        "application/octet-stream",
        "application/octet-stream",
        "text/html",  # stored as sent; served as application/octet-stream
    ]


def test_an_openrosa_text_field_is_kept_as_a_file_of_its_own():
    parsed = form(
        file_part("xml_submission_file", "i.xml", b"<data><n>1</n></data>", "text/xml"),
        file_part("deviceID", None, b"collect:abc"),
        openrosa_route=True,
    )
    [device] = parsed.attachments
    assert (device.name, device.field, device.content_type, device.data) == (
        "deviceID",
        "deviceID",
        "text/plain",
        b"collect:abc",
    )


def test_the_limit_holds_for_the_whole_request_files_included():
    body, headers = visit()

    with pytest.raises(InboxError) as caught:
        openrosa(body, headers, limit=len(body) - 1)

    assert caught.value.status == 413
    assert openrosa(body, headers, limit=len(body)).attachments


def test_a_gzip_encoded_submission_keeps_its_files():
    body, headers = visit()

    parsed = openrosa(gzip.compress(body), {**headers, "content-encoding": "gzip"})

    assert [a.data for a in parsed.attachments] == [PHOTO, SIGNATURE]
