"""Bad inputs to the inbox: each gets a clear 4xx, nothing is stored and nothing is expanded.

Deep nesting, very long strings and numbers, invalid UTF-8, XML DTDs, entity expansion and
external entities, oversized and compressed bodies (and bodies whose JSON outgrows the limit),
unknown inbox ids and ids with odd characters, CR/LF in the values of headers the inbox reads.
Through Airflow's real api-server app (one test: a real api-server process).
"""

from __future__ import annotations

import functools
import gzip
import json
import tracemalloc
import uuid
import zlib
from typing import Any

import pytest
from security_helpers import API, INBOX, INBOX_ID, count, raw_request, stored_nothing

from openfn_airflow.inbox.bodies import MAX_DEPTH

pytestmark = [pytest.mark.integration, pytest.mark.security, pytest.mark.usefixtures("project")]

JSON = {"content-type": "application/json"}
XML = {"content-type": "application/xml"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def refused(answer: Any, status: int, error: str | None = None) -> dict[str, Any]:
    """Assert a JSON refusal with ``status`` (and ``error`` code); return its body."""
    assert answer.status_code == status, answer.text[:500]
    body = answer.json()
    if error is not None:
        assert body["error"] == error, body
    return body


def only_message(conn: Any) -> dict[str, Any]:
    [row] = conn.execute(
        "SELECT id, body, headers, path, query, idempotency_key FROM openfn_message"
    ).fetchall()
    return row


# -- deep nesting, long strings, big numbers -------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 10_000, 2_000, 900, MAX_DEPTH + 1])
def test_deeply_nested_json_is_refused(anonymous, project, depth):
    arrays = b"[" * depth + b"]" * depth
    objects = b'{"a":' * depth + b"1" + b"}" * depth

    for body in (arrays, objects):
        answer = anonymous.post(INBOX, content=body, headers=JSON)
        assert "nested too deeply" in refused(answer, 400, "invalid_body")["message"]
    stored_nothing(project)


@pytest.mark.parametrize("depth", [100_000, 10_000, 2_000, MAX_DEPTH + 1])
def test_deeply_nested_xml_is_refused(anonymous, project, depth):
    body = b"<a>" * depth + b"x" + b"</a>" * depth

    answer = anonymous.post(INBOX, content=body, headers=XML)

    assert "nested too deeply" in refused(answer, 400, "invalid_body")["message"]
    stored_nothing(project)


def test_xml_nested_too_deeply_through_repeated_elements_is_refused(anonymous, project):
    depth = MAX_DEPTH // 2 + 1  # each level is a list of two (<a/> and <a>) and an object
    body = b"<a><a/>" * depth + b"</a>" * depth

    answer = anonymous.post(INBOX, content=body, headers=XML)

    assert "nested too deeply" in refused(answer, 400, "invalid_body")["message"]
    stored_nothing(project)


def _nested(depth: int) -> Any:
    body: Any = "deepest"
    for level in range(depth - 1):
        body = {"a": body} if level % 2 else [body]
    return {"form": "intake", "a": body}


def test_the_deepest_body_taken_is_read_back_through_every_view(admin, anonymous, project):
    import csv
    import io

    body = _nested(MAX_DEPTH)
    answer = anonymous.post(INBOX, content=json.dumps(body).encode(), headers=JSON)
    xml = b"<a>" * (MAX_DEPTH - 1) + b"deepest" + b"</a>" * (MAX_DEPTH - 1)
    answer_xml = anonymous.post(INBOX, content=xml, headers=XML)

    assert answer.status_code == answer_xml.status_code == 202, answer.text + answer_xml.text
    listed = admin.get(f"{API}/messages")
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"][1]["body"] == body
    shown = admin.get(f"{API}/messages/{answer.json()['message_id']}")
    assert shown.status_code == 200 and shown.json()["body"] == body
    edited = admin.put(f"{API}/messages/{answer_xml.json()['message_id']}", json={"body": body})
    assert edited.status_code == 200, edited.text
    assert admin.get(f"{API}/messages/{answer_xml.json()['message_id']}").status_code == 200
    exported = admin.get(f"{API}/messages.csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text, newline="")))
    assert json.loads(rows[1]["body"]) == body


def test_very_long_strings_are_stored_intact(anonymous, project):
    word = "x" * 5_000  # longer than a tsvector lexeme may be (2,047 bytes)
    text = "lorem ipsum " * 400_000  # 4.8 MB: indexed by the dispatcher, not inline

    answer = anonymous.post(INBOX, json={"form": "intake", "word": word, "text": text})

    assert answer.status_code == 202, answer.text
    assert answer.json()["matched"] == ["forms"]
    body = only_message(project)["body"]
    assert body["word"] == word and body["text"] == text


def test_very_long_paths_queries_and_headers_are_stored_intact(airflow_app, project):
    long = "y" * 60_000  # past what a test client sends: raw ASGI, as a lenient server would

    answer = raw_request(
        airflow_app,
        "POST",
        f"{INBOX}/{long}",
        query=f"note={long}".encode(),
        headers=[(b"content-type", b"application/json"), (b"x-note", long.encode())],
        body=b'{"form": "intake"}',
    )

    assert answer.status_code == 202, answer.text[:300]
    stored = only_message(project)
    assert stored["path"] == "/openfn/inbox/{inbox}/" + long  # the inbox id is not stored
    assert stored["query"] == {"note": long} and stored["headers"]["x-note"] == long


@pytest.mark.parametrize(
    "number",
    [
        b"1e999999",
        b"-1e999999",
        b"1e-999999",
        b"1e4300",  # PostgreSQL prints it with 4,301 digits, which Python's json cannot read
        b"1.5e-16383",  # 16,384 digits after the point: PostgreSQL refuses it
        b"0." + b"0" * 16_383 + b"1",
        b"9" * 5_000,
        b"1" + b"0" * 100_000,
    ],
    ids=lambda n: n.decode()[:20],
)
def test_numbers_that_cannot_be_read_back_are_refused(admin, anonymous, project, number):
    answer = anonymous.post(INBOX, content=b'{"n": ' + number + b"}", headers=JSON)

    refused(answer, 400, "invalid_body")
    stored_nothing(project)
    assert admin.get(f"{API}/messages").status_code == 200


@pytest.mark.parametrize(
    "number", [b"1e4299", b"-1.5e-16382", b"1e308", b"1e309", b"123456789012345678901234567890"]
)
def test_big_numbers_are_kept_exactly_and_read_back(admin, anonymous, project, number):
    answer = anonymous.post(INBOX, content=b'{"n": ' + number + b"}", headers=JSON)

    assert answer.status_code == 202, answer.text[:300]
    stored = project.execute("SELECT body->>'n' AS n FROM openfn_message").fetchone()["n"]
    from decimal import Decimal

    assert Decimal(stored) == Decimal(number.decode())  # the exact digits, not a float's
    assert admin.get(f"{API}/messages").status_code == 200
    assert admin.get(f"{API}/messages/{answer.json()['message_id']}").status_code == 200


# -- invalid UTF-8 and NUL -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"name": "\xff\xfe"}', JSON),
        (b'{"name": "\xed\xa0\x80"}', JSON),  # an encoded surrogate
        (b'{"name": "\xc0\xaf"}', JSON),  # an overlong "/"
        (b'{"name": "\\u0000"}', JSON),
        (b'{"name": "\\ud800"}', JSON),
        (b'{"name": "a\x00b"}', JSON),
        (b'<?xml version="1.0" encoding="UTF-8"?><a>\xff</a>', XML),
        (b"<a>&#0;</a>", XML),
        (b"name=%FF%FE", FORM),
        (b"name=\xff", FORM),
        (b"name=a%00b", FORM),
        (b"name=x", {"content-type": "application/x-www-form-urlencoded; charset=no-such"}),
    ],
    ids=[
        "json-bytes",
        "json-surrogate-bytes",
        "json-overlong",
        "json-nul-escape",
        "json-lone-surrogate",
        "json-raw-nul",
        "xml-bytes",
        "xml-nul-reference",
        "form-escaped-bytes",
        "form-raw-bytes",
        "form-nul",
        "form-unknown-charset",
    ],
)
def test_invalid_text_in_a_body_is_400(anonymous, project, content, headers):
    refused(anonymous.post(INBOX, content=content, headers=headers), 400, "invalid_body")
    stored_nothing(project)


def test_invalid_utf8_in_headers_is_kept_as_latin1(airflow_app, project):
    # Raw ASGI: a test client would re-encode the header bytes; a server passes them on.
    answer = raw_request(
        airflow_app,
        "POST",
        INBOX,
        headers=[
            (b"content-type", b"application/json"),
            (b"x-note", b"caf\xe9 \xff\xfe"),
            (b"x-empty", b""),
        ],
        body=b'{"form": "intake"}',
    )

    assert answer.status_code == 202, answer.text
    headers = only_message(project)["headers"]
    assert headers["x-note"] == "caf\xe9 \xff\xfe" and headers["x-empty"] == ""


@pytest.mark.parametrize("query", ["name=%FF%FE", "%FF=1", "name=%C0%AF", "name=%ED%A0%80"])
def test_invalid_utf8_in_the_query_string_is_stored_replaced(anonymous, project, query):
    answer = anonymous.post(f"{INBOX}?{query}", json={"form": "intake"})

    assert answer.status_code == 202, answer.text
    stored = only_message(project)["query"]
    assert "\ufffd" in json.dumps(stored, ensure_ascii=False)


@pytest.mark.parametrize("query", ["name=a%00b", "a%00=1"])
@pytest.mark.parametrize("with_body", [True, False], ids=["with-body", "query-as-body"])
def test_nul_in_the_query_string_is_400(anonymous, project, query, with_body):
    body = {"json": {"form": "intake"}} if with_body else {}

    answer = anonymous.post(f"{INBOX}?{query}", **body)

    refused(answer, 400)
    stored_nothing(project)


def test_nul_in_a_path_under_the_inbox_is_not_found(anonymous, project):
    # No path of the plugin's names anything with a NUL: 404, before any route runs.
    assert anonymous.post(f"{INBOX}/Patient%00/7", json={"form": "intake"}).status_code == 404
    stored_nothing(project)


@pytest.mark.parametrize(
    "header",
    [(b"x-note", b"a\x00b"), (b"x-\x00", b"1"), (b"idempotency-key", b"k\x00")],
    ids=["value", "name", "idempotency-key"],
)
def test_nul_in_a_header_is_400(airflow_app, project, header):
    # No HTTP server passes one on (h11 and httptools refuse it); the app refuses it all the same.
    answer = raw_request(
        airflow_app,
        "POST",
        INBOX,
        headers=[(b"content-type", b"application/json"), header],
        body=b'{"form": "intake"}',
    )

    refused(answer, 400, "invalid_request")
    stored_nothing(project)


# -- header injection ------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Idempotency-Key", "webhook-id", "x-request-id"])
def test_cr_lf_in_a_header_value_is_never_echoed_as_a_header(anonymous, project, header):
    value = "k1\r\nSet-Cookie: session=evil\r\nX-Injected: 1"

    answer = anonymous.post(INBOX, json={"form": "intake"}, headers={header: value})

    assert answer.status_code in (202, 400), answer.text
    assert "set-cookie" not in answer.headers and "x-injected" not in answer.headers
    for name, raw in answer.headers.raw:
        assert b"\r" not in raw and b"\n" not in raw, (name, raw)
    if answer.status_code == 202:  # kept as data, never split into headers
        stored = only_message(project)["headers"]
        assert stored[header.lower()] == value
        assert "set-cookie" not in stored and "x-injected" not in stored


@pytest.mark.parametrize("header", ["Idempotency-Key", "webhook-id"])
def test_a_long_idempotency_key_is_400_not_a_database_error(anonymous, project, header):
    import secrets

    key = secrets.token_urlsafe(3_000)  # 4,000 characters: no index row holds that

    answer = anonymous.post(INBOX, json={"form": "intake"}, headers={header: key})

    refused(answer, 400, "invalid_idempotency_key")
    stored_nothing(project)
    longest = secrets.token_urlsafe(255)[:255]
    assert anonymous.post(INBOX, json={}, headers={header: longest}).status_code == 202


def test_openrosa_errors_echo_the_request_escaped(anonymous, project):
    import xml.etree.ElementTree as ElementTree

    answer = anonymous.post(
        f"{INBOX}/submission",
        content=b"x",
        headers={"content-type": 'text/x"/><script>alert(1)</script><x a="&amp;'},
    )

    assert answer.status_code == 415
    assert answer.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(answer.content)  # well-formed: nothing was injected
    [message] = list(root)
    assert message.get("nature") == "submit_error"
    assert "<script>" in (message.text or "") and not root.findall(".//script")
    stored_nothing(project)


# -- XML entity expansion and external entities ----------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""
QUADRATIC_BLOWUP = (
    b'<?xml version="1.0"?><!DOCTYPE kaboom [<!ENTITY a "'
    + b"a" * 50_000
    + b'">]><kaboom>'
    + b"&a;" * 50_000
    + b"</kaboom>"
)
XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""
XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY % xxe SYSTEM "file:///etc/passwd"> %xxe;]>
<foo>x</foo>"""
XXE_EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "file:///etc/passwd">
<foo>x</foo>"""
XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">]>
<foo>&xxe;</foo>"""
XML_ATTACKS = {
    "billion-laughs": BILLION_LAUGHS,
    "quadratic-blowup": QUADRATIC_BLOWUP,
    "xxe-file": XXE_FILE,
    "xxe-parameter-entity": XXE_PARAMETER,
    "xxe-external-dtd": XXE_EXTERNAL_DTD,
    "xxe-network": XXE_NETWORK,
}


@pytest.mark.parametrize("body", XML_ATTACKS.values(), ids=XML_ATTACKS.keys())
@pytest.mark.parametrize("content_type", ["application/xml", "text/xml", "application/atom+xml"])
def test_xml_entities_are_refused_not_expanded(anonymous, project, body, content_type):
    answer = anonymous.post(INBOX, content=body, headers={"content-type": content_type})

    message = refused(answer, 400, "invalid_body")["message"]
    assert "root:" not in answer.text and "lollol" not in answer.text
    assert "entit" in message.lower() or "external" in message.lower() or "DTD" in message
    stored_nothing(project)


@pytest.mark.parametrize("body", XML_ATTACKS.values(), ids=XML_ATTACKS.keys())
def test_openrosa_submission_entities_are_refused(anonymous, project, body):
    answer = anonymous.post(
        f"{INBOX}/submission", files={"xml_submission_file": ("s.xml", body, "text/xml")}
    )

    assert answer.status_code == 400, answer.text
    assert 'nature="submit_error"' in answer.text and "root:" not in answer.text
    stored_nothing(project)


def test_a_sniffed_xml_body_without_content_type_is_refused_too(anonymous, project):
    answer = anonymous.post(INBOX, content=XXE_FILE, headers={"content-type": ""})

    refused(answer, 400, "invalid_body")
    stored_nothing(project)


def test_xinclude_is_kept_as_an_element_not_followed(anonymous, project):
    body = (
        b'<doc xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="file:///etc/passwd" parse="text"/></doc>'
    )

    answer = anonymous.post(INBOX, content=body, headers=XML)

    assert answer.status_code == 202, answer.text
    stored = only_message(project)["body"]
    assert stored["doc"]["xi:include"]["@href"] == "file:///etc/passwd"
    assert "root:" not in json.dumps(stored)


# -- oversized and compressed bodies ---------------------------------------------------------

LIMIT = 64 * 1024


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("AIRFLOW__OPENFN__INBOX_MAX_BODY_BYTES", str(LIMIT))
    return LIMIT


def test_a_body_over_the_limit_is_413(anonymous, project, small_limit):
    big = {"form": "intake", "pad": "x" * (small_limit + 1)}

    refused(anonymous.post(INBOX, json=big), 413, "payload_too_large")
    refused(anonymous.post(f"{INBOX}/extra/path", json=big), 413, "payload_too_large")
    submission = anonymous.post(
        f"{INBOX}/submission",
        files={"xml_submission_file": ("s.xml", b"<a>" + b"x" * small_limit + b"</a>", "text/xml")},
    )
    assert submission.status_code == 413
    stored_nothing(project)


def test_a_streamed_body_without_length_over_the_limit_is_413(anonymous, project, small_limit):
    def chunks():
        yield b'{"form": "intake", "pad": "'
        for _ in range(small_limit // 1024 + 2):
            yield b"x" * 1024
        yield b'"}'

    answer = anonymous.post(INBOX, content=chunks(), headers=JSON)

    assert "content-length" not in {k.lower() for k in answer.request.headers}
    refused(answer, 413, "payload_too_large")
    stored_nothing(project)


def test_a_declared_length_over_the_limit_is_413_before_reading(anonymous, project, small_limit):
    answer = anonymous.post(
        INBOX, content=b"{}", headers={**JSON, "content-length": str(small_limit * 1000)}
    )

    refused(answer, 413, "payload_too_large")
    stored_nothing(project)


@functools.cache
def _zeros_json(megabytes: int, wbits: int = 31) -> bytes:
    """A JSON body of ``megabytes`` MiB of zeros, compressed (gzip: wbits 31, zlib: 15)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    chunk = b"0" * (1024 * 1024)
    packed = [packer.compress(b'{"pad": "')]
    packed.extend(packer.compress(chunk) for _ in range(megabytes))
    packed += [packer.compress(b'"}'), packer.flush()]
    return b"".join(packed)


BOMBS = {
    "gzip": lambda: _zeros_json(200),
    "x-gzip": lambda: _zeros_json(200),
    "deflate": lambda: _zeros_json(200, 15),
    "gzip, gzip": lambda: gzip.compress(_zeros_json(200)),
    "identity, gzip": lambda: _zeros_json(200),
}


@pytest.mark.parametrize("encoding", BOMBS)
def test_a_compression_bomb_is_413_without_inflating_it(anonymous, project, monkeypatch, encoding):
    limit = 1024 * 1024
    monkeypatch.setenv("AIRFLOW__OPENFN__INBOX_MAX_BODY_BYTES", str(limit))
    bomb = BOMBS[encoding]()  # 200 MiB once inflated
    assert len(bomb) < limit

    tracemalloc.start()
    try:
        answer = anonymous.post(INBOX, content=bomb, headers={**JSON, "content-encoding": encoding})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert "decompresses to more than" in refused(answer, 413, "payload_too_large")["message"]
    assert peak < 16 * limit, f"{peak:,} bytes allocated for a {limit:,} byte limit"
    stored_nothing(project)


def test_a_gzip_bomb_is_413_with_the_default_limit(anonymous, project):
    bomb = gzip.compress(_zeros_json(256))  # 8 MiB is the limit; 256 MiB once inflated

    tracemalloc.start()
    try:
        headers = {**JSON, "content-encoding": "gzip, gzip"}
        answer = anonymous.post(INBOX, content=bomb, headers=headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    refused(answer, 413, "payload_too_large")
    assert peak < 64 * 1024 * 1024, f"{peak:,} bytes allocated"
    stored_nothing(project)


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (gzip.compress(b'{"form": "intake"}')[:-12], "gzip"),
        (b"not deflate", "deflate"),
        (gzip.compress(b'{"form": "intake"}'), "br"),
        (gzip.compress(b'{"form": "intake"}'), "gzip;q=1\r\nX-Injected: 1"),
    ],
    ids=["garbage", "truncated", "bad-deflate", "brotli", "cr-lf"],
)
def test_broken_or_unknown_encodings_are_refused(anonymous, project, content, encoding):
    answer = anonymous.post(INBOX, content=content, headers={**JSON, "content-encoding": encoding})

    assert answer.status_code in (400, 415), answer.text
    assert "x-injected" not in answer.headers
    stored_nothing(project)


# -- unknown inbox ids and odd characters ----------------------------------------------------

ODD_IDS = [
    str(uuid.uuid4()),
    "not-a-uuid",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%00",
    INBOX_ID + "%00",
    INBOX_ID[:-1] + "%00",
    "%FF%FE",
    "' OR 1=1 --",
    "%27%20OR%201%3D1%20--",
    "x" * 10_000,
    "%E2%80%AE" + INBOX_ID,
    "\u0661" * 32,  # Arabic-Indic digits: int() would read them, a UUID must not
    "１" * 32,
    "%0d%0aSet-Cookie:x",
]


@pytest.mark.parametrize("inbox_id", ODD_IDS, ids=range(len(ODD_IDS)))
def test_unknown_or_odd_inbox_ids_are_404(anonymous, project, inbox_id):
    base = f"/openfn/inbox/{inbox_id}"
    for method, path in (
        ("POST", base),
        ("GET", base),
        ("POST", f"{base}/submission"),
        ("HEAD", f"{base}/submission"),
        ("POST", f"{base}/deeper/path"),
    ):
        answer = anonymous.request(method, path, json={"form": "intake"})
        # 405: an id holding an encoded "/" makes GET /inbox/{id} a path no GET route has.
        expected = (404, 405) if method in ("GET", "HEAD") else (404,)
        assert answer.status_code in expected, (method, path[:80], answer.status_code, answer.text)
        assert "set-cookie" not in answer.headers
    stored_nothing(project)


def test_a_known_inbox_id_in_a_path_under_another_is_not_found(anonymous, project):
    answer = anonymous.post(f"/openfn/inbox/{uuid.uuid4()}/{INBOX_ID}", json={"form": "intake"})

    refused(answer, 404, "inbox_not_found")
    stored_nothing(project)


def test_path_traversal_out_of_the_inbox_does_not_reach_the_api(anonymous, project):
    for path in (
        f"{INBOX}/../../api/v1/messages",
        f"{INBOX}/%2e%2e/%2e%2e/api/v1/messages",
        f"{INBOX}/..%2f..%2fapi%2fv1%2fmessages",
    ):
        answer = anonymous.get(path)
        assert answer.status_code in (401, 404, 405), (path, answer.status_code)
        assert "items" not in answer.text
    assert count(project, "openfn_message") == 0


# -- DTDs, and bodies that grow when parsed --------------------------------------------------


def amplification_body(elements: int = 2_000) -> bytes:
    """~17 KB of XML whose <!ATTLIST> gives each of ``elements`` empty elements 9 KB of
    default attributes: 18 MB of JSON (x1,060) when the DTD was read."""
    attributes = "".join(f' a{i} CDATA "{"x" * 900}"' for i in range(10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ATTLIST a{attributes}>]><r>'
        + "<a/>" * elements
        + "</r>"
    ).encode()


DTDS = {
    "attlist-defaults": amplification_body(),
    "attlist-one-default": b'<!DOCTYPE r [<!ATTLIST r form CDATA "intake">]><r/>',
    "bare-doctype": b"<!DOCTYPE r><r><form>intake</form></r>",
    "element-declaration": b"<!DOCTYPE r [<!ELEMENT r ANY>]><r><form>intake</form></r>",
    "public-id": b'<!DOCTYPE r PUBLIC "-//X//DTD R//EN" "r.dtd"><r><form>intake</form></r>',
}


@pytest.mark.parametrize("body", DTDS.values(), ids=DTDS.keys())
@pytest.mark.parametrize("content_type", ["application/xml", "text/xml", "application/atom+xml"])
def test_xml_with_a_dtd_is_refused(anonymous, project, body, content_type):
    answer = anonymous.post(INBOX, content=body, headers={"content-type": content_type})

    message = refused(answer, 400, "invalid_body")["message"]
    assert "DTD" in message and "<!DOCTYPE" in message
    assert "intake" not in answer.text
    stored_nothing(project)


@pytest.mark.parametrize("body", DTDS.values(), ids=DTDS.keys())
def test_an_openrosa_submission_with_a_dtd_is_refused(anonymous, project, body):
    answer = anonymous.post(
        f"{INBOX}/submission", files={"xml_submission_file": ("s.xml", body, "text/xml")}
    )

    assert answer.status_code == 400, answer.text
    assert 'nature="submit_error"' in answer.text and "DOCTYPE" in answer.text
    stored_nothing(project)


GROWING = {
    # Each "&a" (2 bytes) is one more '"", ' (4 bytes) in the list that "a" becomes.
    "form-repeated-key": (b"form=intake&a" + b"&a" * (LIMIT // 2 - 8), FORM),
    # "%01" (3 bytes) is stored as "\u0001" (6 bytes).
    "form-control-characters": (b"form=intake&a=" + b"%01" * (LIMIT // 3 - 6), FORM),
    # Each <a/> (4 bytes) is one more "null, " (6 bytes).
    "xml-empty-elements": (b"<r><form>intake</form>" + b"<a/>" * (LIMIT // 4 - 8) + b"</r>", XML),
    # Each " bN=''" (about 9 bytes) is one more '"@bN": "", ' (about 13 bytes).
    "xml-attributes": (
        b"<r " + b" ".join(b"b%d=''" % i for i in range(LIMIT // 9)) + b"/>",
        XML,
    ),
}


@pytest.mark.parametrize(("body", "headers"), GROWING.values(), ids=GROWING.keys())
def test_a_body_within_the_limit_whose_json_is_over_it_is_413(
    anonymous, project, small_limit, body, headers
):
    assert len(body) <= small_limit

    answer = anonymous.post(INBOX, content=body, headers=headers)

    assert "as JSON" in refused(answer, 413, "payload_too_large")["message"]
    stored_nothing(project)


def test_an_openrosa_submission_whose_json_is_over_the_limit_is_413(
    anonymous, project, small_limit
):
    xml = b"<r><form>intake</form>" + b"<a/>" * (small_limit // 4 - 100) + b"</r>"

    answer = anonymous.post(
        f"{INBOX}/submission", files={"xml_submission_file": ("s.xml", xml, "text/xml")}
    )

    assert int(answer.request.headers["content-length"]) <= small_limit
    assert answer.status_code == 413, answer.text
    assert 'nature="submit_error"' in answer.text
    stored_nothing(project)


def test_a_body_whose_json_is_just_within_the_limit_is_taken(anonymous, project, small_limit):
    xml = b"<r><form>intake</form>" + b"<a/>" * (small_limit // 6 - 20) + b"</r>"

    answer = anonymous.post(INBOX, content=xml, headers=XML)

    assert answer.status_code == 202, answer.text
    body = only_message(project)["body"]
    assert body["r"]["form"] == "intake" and len(body["r"]["a"]) == small_limit // 6 - 20


class _ApiServer:
    """``airflow api-server`` alone as a real process, serving this suite's project."""

    def __init__(self, home: Any, sqlalchemy_url: str, dags_folder: Any) -> None:
        from cluster import Cluster

        self.cluster = Cluster(home, sqlalchemy_url, dags_folder)
        self.url = self.cluster.url

    def __enter__(self) -> _ApiServer:
        self.cluster._spawn("api-server", "api-server", "--port", str(self.cluster.port))
        try:
            self.cluster.wait_healthy(180)
        except BaseException:
            self.cluster.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cluster.stop()

    def peak_rss_kib(self) -> dict[int, int]:
        """Each process of the api-server's session: its peak resident memory (VmHWM), KiB."""
        import os
        from pathlib import Path

        session = self.cluster.processes["api-server"].pid
        peaks = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getsid(int(entry.name)) != session:
                    continue
                status = (entry / "status").read_text()
            except (ProcessLookupError, FileNotFoundError, PermissionError):
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[int(entry.name)] = int(line.split()[1])
        return peaks


def test_the_amplification_body_leaves_the_api_servers_memory_flat(
    project, project_folder, sqlalchemy_url, tmp_path
):
    import httpx

    body = amplification_body()
    assert len(body) < 20_000
    with _ApiServer(tmp_path, sqlalchemy_url, project_folder) as server:
        inbox = f"{server.url}{INBOX}"
        with httpx.Client(timeout=120) as client:
            # Warm up every path the refusal takes (imports, the pool) before the baseline.
            for _ in range(3):
                assert (
                    client.post(inbox, content=b"<r><x>1</x></r>", headers=XML).status_code == 202
                )
                client.post(inbox, content=DTDS["bare-doctype"], headers=XML)
            project.execute("TRUNCATE openfn_message, openfn_dispatch CASCADE")
            before = server.peak_rss_kib()
            answers = [client.post(inbox, content=body, headers=XML) for _ in range(20)]
            openrosa = client.post(
                f"{inbox}/submission", files={"xml_submission_file": ("s.xml", body, "text/xml")}
            )
            after = server.peak_rss_kib()

    grown = sum(after.get(pid, peak) - peak for pid, peak in before.items())
    # Read whole, each of these bodies made 18 MB of JSON from 60 MB of Python objects.
    assert grown < 8 * 1024, f"the api-server's peak memory grew by {grown:,} KiB: {after}"
    assert all(answer.status_code == 400 for answer in answers), answers[0].text[:300]
    assert openrosa.status_code == 400, openrosa.text[:300]
    stored_nothing(project)
