"""Inbox bodies: JSON, forms, XML and OpenRosa become the JSON a message stores; the rest is refused."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from openfn_airflow.inbox.bodies import parse_body, parse_xml
from openfn_airflow.inbox.errors import InboxError

LIMIT = 64 * 1024


def parse(raw: bytes, content_type: str | None = "application/json", **headers: str):
    given = {name.replace("_", "-"): value for name, value in headers.items()}
    if content_type is not None:
        given["content-type"] = content_type
    return parse_body(raw, given, max_bytes=LIMIT)


def refused(raw: bytes, content_type: str | None = "application/json", **headers: str):
    with pytest.raises(InboxError) as caught:
        parse(raw, content_type, **headers)
    return caught.value


def test_json_is_stored_as_sent():
    parsed = parse(b'{"formID": "x", "n": 1.10, "big": 12345678901234567890}')
    assert parsed.body == {"formID": "x", "n": 1.1, "big": 12345678901234567890}
    assert parsed.json_text == '{"formID": "x", "n": 1.10, "big": 12345678901234567890}'
    assert parsed.content_type == "application/json"


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd.api+json", "text/json"]
)
def test_json_media_types(content_type):
    assert parse(b"[1, 2]", content_type).body == [1, 2]


def test_malformed_json_says_where():
    error = refused(b'{"a": [1,\n  2,]}')
    assert error.status == 400 and error.error == "invalid_body"
    assert "line 2, column 5" in error.message


@pytest.mark.parametrize(
    "raw",
    [b'{"a": NaN}', b'{"a": "\\u0000"}', b'{"\\ud800": 1}', b'{"a": "\xff"}'],
    ids=["nan", "nul", "lone-surrogate", "not-utf8"],
)
def test_json_postgres_cannot_store_is_400(raw):
    assert refused(raw).status == 400


def test_form_repeated_keys_become_lists():
    parsed = parse(b"name=Ada&tag=a&tag=b&empty=&sp=a+b%21", "application/x-www-form-urlencoded")
    assert parsed.body == {"name": "Ada", "tag": ["a", "b"], "empty": "", "sp": "a b!"}
    assert json.loads(parsed.json_text) == parsed.body


def test_xml_becomes_json_with_attribute_and_text_keys():
    xml = (
        b'<?xml version="1.0"?>'
        b'<data xmlns="http://openrosa.org/formdesigner/F1" xmlns:jr="http://openrosa.org/javarosa"'
        b' id="patient" version="7">'
        b"<name>Ada</name><child>a</child><child>b</child><empty/>"
        b'<note lang="en">  hello <b>bold</b> world </note>'
        b"<meta><instanceID>uuid:1</instanceID></meta></data>"
    )
    assert parse(xml, "application/xml").body == {
        "data": {
            "@xmlns": "http://openrosa.org/formdesigner/F1",
            "@xmlns:jr": "http://openrosa.org/javarosa",
            "@id": "patient",
            "@version": "7",
            "name": "Ada",
            "child": ["a", "b"],
            "empty": None,
            "note": {"@lang": "en", "b": "bold", "#text": "hello  world"},
            "meta": {"instanceID": "uuid:1"},
        }
    }


@pytest.mark.parametrize("content_type", ["text/xml", "application/atom+xml"])
def test_xml_media_types(content_type):
    assert parse(b"<a>1</a>", content_type).body == {"a": "1"}


def test_malformed_xml_says_where():
    error = refused(b"<a>\n<b></a>", "text/xml")
    assert error.status == 400 and "line 2, column 6" in error.message


@pytest.mark.parametrize(
    "xml",
    [
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><x>&a;</x>',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    ],
    ids=["billion-laughs", "external-entity"],
)
def test_xml_entities_are_refused(xml):
    error = refused(xml, "application/xml")
    assert error.status == 400 and "entity" in error.message.lower()


def test_gzip_body_is_decompressed():
    parsed = parse(gzip.compress(b'{"a": 1}'), content_encoding="gzip")
    assert parsed.body == {"a": 1} and parsed.size_bytes == 8


def test_deflate_body_is_decompressed():
    assert parse(zlib.compress(b'{"a": 2}'), content_encoding="deflate").body == {"a": 2}


def test_gzip_bomb_is_413_without_inflating_it_all():
    bomb = gzip.compress(b" " * (50 * 1024 * 1024))
    assert len(bomb) < LIMIT
    error = refused(bomb, content_encoding="gzip")
    assert error.status == 413 and "decompresses" in error.message


def test_broken_gzip_is_400():
    assert refused(b"not gzip at all", content_encoding="gzip").status == 400
    assert refused(gzip.compress(b'{"a": 1}')[:-12], content_encoding="gzip").status == 400


def test_unknown_content_encoding_is_415():
    assert refused(b"{}", content_encoding="br").status == 415


def test_body_over_the_limit_is_413():
    error = refused(b"[" + b"1," * LIMIT + b"1]")
    assert error.status == 413 and error.error == "payload_too_large"


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", "image/png"])
def test_unsupported_content_type_is_415(content_type):
    error = refused(b"hello", content_type)
    assert error.status == 415 and error.error == "unsupported_media_type"


def test_missing_content_type_is_sniffed_or_415():
    assert parse(b' {"a": 1}', None).body == {"a": 1}
    assert parse(b"<a/>", None).body == {"a": None}
    assert refused(b"hello", None).status == 415


def test_empty_body_takes_the_query_parameters():
    assert parse_body(b"", {}, max_bytes=LIMIT, query={"id": "7"}).body == {"id": "7"}
    assert refused(b"").status == 400


def _multipart(*parts: tuple[str, str | None, bytes]) -> tuple[bytes, str]:
    chunks = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(
            b"--BOUNDARY\r\nContent-Disposition: "
            + disposition.encode()
            + b"\r\n\r\n"
            + content
            + b"\r\n"
        )
    return b"".join(chunks) + b"--BOUNDARY--\r\n", "multipart/form-data; boundary=BOUNDARY"


def test_openrosa_submission_stores_the_xml_as_json():
    raw, content_type = _multipart(
        ("xml_submission_file", "submission.xml", b'<data id="visit"><n>3</n></data>'),
        ("photo.jpg", "photo.jpg", b"\xff\xd8\xff binary"),
    )
    parsed = parse_body(raw, {"content-type": content_type}, max_bytes=LIMIT, openrosa=True)
    assert parsed.body == {"data": {"@id": "visit", "n": "3"}}
    assert parsed.content_type == "application/xml"


def test_openrosa_needs_its_xml_part():
    raw, content_type = _multipart(("field", None, b"value"))
    with pytest.raises(InboxError) as caught:
        parse_body(raw, {"content-type": content_type}, max_bytes=LIMIT, openrosa=True)
    assert caught.value.status == 400
    with pytest.raises(InboxError) as caught:
        parse_body(b"{}", {"content-type": "application/json"}, max_bytes=LIMIT, openrosa=True)
    assert caught.value.status == 415


def test_multipart_fields_become_an_object():
    raw, content_type = _multipart(("a", None, b"1"), ("a", None, b"2"), ("b", None, b"x"))
    assert parse(raw, content_type).body == {"a": ["1", "2"], "b": "x"}


def test_parse_xml_root_is_the_only_key():
    assert parse_xml(b"<root><x>1</x><x/></root>") == {"root": {"x": ["1", None]}}
