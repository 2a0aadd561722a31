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


# -- DTDs and bodies that grow when parsed ---------------------------------------------------


def amplification_body(elements: int = 2_000) -> bytes:
    """~17 KB of XML whose <!ATTLIST> gives each of ``elements`` empty elements 9 KB of
    default attributes: 18 MB of JSON once parsed, if the DTD were read."""
    attributes = "".join(f' a{i} CDATA "{"x" * 900}"' for i in range(10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ATTLIST a{attributes}>]><r>'
        + "<a/>" * elements
        + "</r>"
    ).encode()


DTDS = {
    "attlist-defaults": amplification_body(),
    "bare-doctype": b"<!DOCTYPE r><r>1</r>",
    "element-declaration": b"<!DOCTYPE r [<!ELEMENT r (#PCDATA)>]><r>1</r>",
    "public-id": b'<!DOCTYPE r PUBLIC "-//X//DTD R//EN" "r.dtd"><r>1</r>',
    "after-prolog": b'<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE r [\n]>\n<r>1</r>',
}


@pytest.mark.parametrize("xml", DTDS.values(), ids=DTDS.keys())
def test_xml_with_a_dtd_is_refused(xml):
    error = refused(xml, "application/xml")
    assert error.status == 400 and error.error == "invalid_body"
    assert "<!DOCTYPE" in error.message and "DTD" in error.message


@pytest.mark.parametrize("xml", DTDS.values(), ids=DTDS.keys())
def test_an_openrosa_submission_with_a_dtd_is_refused(xml):
    raw, content_type = _multipart(("xml_submission_file", "submission.xml", xml))
    with pytest.raises(InboxError) as caught:
        parse_body(raw, {"content-type": content_type}, max_bytes=LIMIT, openrosa=True)
    assert caught.value.status == 400 and "<!DOCTYPE" in caught.value.message


def test_the_amplification_body_is_refused_before_it_grows():
    import tracemalloc

    body = amplification_body()
    assert len(body) < 20_000
    tracemalloc.start()
    try:
        with pytest.raises(InboxError) as caught:
            parse_body(body, {"content-type": "application/xml"}, max_bytes=8 * 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.status == 400
    # Read whole, the DTD made 18 MB of JSON (60 MB of Python objects on the way).
    assert peak < 20 * len(body), f"{peak:,} bytes allocated for a {len(body):,} byte body"


GROWING_BODIES = {
    # Each "&a" (2 bytes) is one more '"", ' (4 bytes) in the list "a" becomes.
    "form-repeated-key": (b"a" + b"&a" * (LIMIT // 2 - 1), "application/x-www-form-urlencoded"),
    # "%01" (3 bytes) is stored as "\u0001" (6 bytes).
    "form-control-characters": (
        b"a=" + b"%01" * (LIMIT // 3 - 1),
        "application/x-www-form-urlencoded",
    ),
    # Each <a/> (4 bytes) is one more "null, " (6 bytes).
    "xml-empty-elements": (b"<r>" + b"<a/>" * (LIMIT // 4 - 2) + b"</r>", "application/xml"),
    # Each ' b=""' (5 bytes) is one more '"@b": "", ' (10 bytes).
    "xml-attributes": (
        b"<r " + b" ".join(b"b%d=''" % i for i in range(LIMIT // 9)) + b"/>",
        "application/xml",
    ),
}


@pytest.mark.parametrize(
    ("raw", "content_type"), GROWING_BODIES.values(), ids=GROWING_BODIES.keys()
)
def test_a_body_whose_json_is_over_the_limit_is_413(raw, content_type):
    assert len(raw) <= LIMIT

    error = refused(raw, content_type)

    assert error.status == 413 and error.error == "payload_too_large"
    assert "as JSON" in error.message


def test_an_openrosa_submission_whose_json_is_over_the_limit_is_413():
    xml = b"<r>" + b"<a/>" * (LIMIT // 4 - 40) + b"</r>"
    raw, content_type = _multipart(("xml_submission_file", "submission.xml", xml))
    assert len(raw) <= LIMIT
    with pytest.raises(InboxError) as caught:
        parse_body(raw, {"content-type": content_type}, max_bytes=LIMIT, openrosa=True)
    assert caught.value.status == 413


def test_the_json_limit_counts_utf8_bytes_not_characters():
    # Three bytes a character in the body and in the JSON: as big as sent, taken.
    same = "<r>" + "\u20ac" * (LIMIT // 3 - 4) + "</r>"
    assert len(same.encode()) <= LIMIT
    assert parse(same.encode(), "application/xml").body == {"r": "\u20ac" * (LIMIT // 3 - 4)}
    # Fewer characters than the limit, more bytes: refused.
    grown = ("<r>" + "\u20ac" * (LIMIT // 6) + "<a/>" * (LIMIT // 8 - 2) + "</r>").encode()
    assert len(grown) <= LIMIT
    json_text = parse_body(grown, {"content-type": "text/xml"}, max_bytes=2 * LIMIT).json_text
    assert len(json_text) < LIMIT < len(json_text.encode())
    assert refused(grown, "application/xml").status == 413


def test_a_body_just_within_the_limit_as_json_is_taken():
    xml = b"<r>" + b"<a/>" * (LIMIT // 6 - 10) + b"</r>"
    parsed = parse(xml, "application/xml")
    assert len(parsed.json_text.encode()) <= LIMIT
    json_at_limit = b'{"a": "' + b"x" * (LIMIT - 9) + b'"}'
    assert len(json_at_limit) == LIMIT
    assert parse(json_at_limit).json_text == json_at_limit.decode()
