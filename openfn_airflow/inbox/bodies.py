"""Turn an inbox request body into the JSON a message stores. Pure: no database, no Airflow.

JSON is stored as sent. Forms become objects (a repeated key becomes a list). XML becomes JSON the
way OpenFn did it: the root element is the only key, attributes are ``@name`` keys, text beside
attributes or child elements is ``#text``, repeated elements become lists and an empty element is
null. OpenRosa submissions (multipart with an ``xml_submission_file`` part) store that XML; the
other files of a multipart body are its attachments (``multipart.py``), never part of the JSON.
Every refusal is an ``InboxError`` with the HTTP status it answers.

``max_bytes`` holds at every step: the body as sent (files included), once decompressed, and the
JSON it becomes (a form or an XML document may grow when written as JSON). XML with a DTD is refused: its
``<!ATTLIST>`` defaults and entities can make a few kilobytes into gigabytes.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler

import defusedxml
import defusedxml.sax

from openfn_airflow.inbox.errors import InboxError
from openfn_airflow.inbox.multipart import OPENROSA_PART, Attachment, parse_form

_JSON_TYPES = ("application/json", "text/json")
_XML_TYPES = ("application/xml", "text/xml")
_FORM_TYPE = "application/x-www-form-urlencoded"
_MULTIPART_TYPE = "multipart/form-data"
# Escapes that Python accepts but PostgreSQL's jsonb refuses: NUL and unpaired surrogates.
_JSONB_UNSAFE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSAFE_CHAR = re.compile("[\x00\ud800-\udfff]")
# Deepest nesting of arrays and objects a body may have: the JSON API serialises at most 255
# levels (pydantic), so a deeper message could be stored but never listed or shown again.
MAX_DEPTH = 200
# Numbers must come back out: psycopg reads jsonb with Python's json, which refuses integers of
# more than 4,300 digits (PostgreSQL prints 1e5000 as one), and PostgreSQL keeps at most 16,383
# digits after the decimal point.
_MAX_INTEGER_DIGITS = 4300
_MAX_FRACTION_DIGITS = 16383


@dataclass(frozen=True)
class ParsedBody:
    """A body ready to store: ``json_text`` is what goes into the jsonb column."""

    body: Any
    json_text: str
    content_type: str  # the media type it was parsed as, e.g. "application/json"
    size_bytes: int  # after decompression
    attachments: tuple[Attachment, ...] = ()  # the files of a multipart body
    # OpenRosa: the submission's meta/instanceID, and whether more requests of it follow.
    instance_id: str | None = None
    incomplete: bool = False


def parse_body(
    raw: bytes,
    headers: Mapping[str, str],
    *,
    max_bytes: int,
    query: Mapping[str, Any] | None = None,
    openrosa: bool = False,
) -> ParsedBody:
    """Parse a request body by its Content-Type (and Content-Encoding) header.

    ``headers`` have lower-case names. An empty body takes the query parameters as the message,
    as OpenFn's inbox did. ``openrosa``: only an OpenRosa multipart submission is accepted.
    """
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    data = _decode_content(raw, headers.get("content-encoding", ""), max_bytes)
    parsed = _parse(data, headers, query, openrosa=openrosa)
    if _utf8_length(parsed.json_text, max_bytes) > max_bytes:
        raise InboxError(
            413,
            "payload_too_large",
            f"the body is larger than {max_bytes} bytes as JSON, the way it is stored "
            "([openfn] inbox_max_body_bytes)",
        )
    return parsed


def _utf8_length(text: str, max_bytes: int) -> int:
    """The length of ``text`` in UTF-8, encoding it only when that could pass ``max_bytes``."""
    # A character is at most 4 bytes; text.isascii() is a scan in C, no copy.
    if len(text) * 4 <= max_bytes or len(text) > max_bytes or text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _parse(
    data: bytes, headers: Mapping[str, str], query: Mapping[str, Any] | None, *, openrosa: bool
) -> ParsedBody:
    media_type, params = media_type_of(headers.get("content-type", ""))
    if openrosa:
        if media_type != _MULTIPART_TYPE:
            raise InboxError(
                415,
                "unsupported_media_type",
                f"an OpenRosa submission is multipart/form-data with an {OPENROSA_PART} part, "
                f"not {media_type or 'a body without Content-Type'}",
            )
        return _multipart(data, headers.get("content-type", ""), openrosa=True)
    if not data.strip():
        if query:
            return _as_json(dict(query), "application/x-www-form-urlencoded", len(data))
        raise InboxError(
            400, "empty_body", "the body is empty: POST JSON, a form or XML (or query parameters)"
        )
    if not media_type:
        media_type = _sniff(data)
    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        return _json(data)
    if media_type in _XML_TYPES or media_type.endswith("+xml"):
        return _as_json(parse_xml(data), media_type, len(data))
    if media_type == _FORM_TYPE:
        return _as_json(_form(data, params.get("charset", "utf-8")), media_type, len(data))
    if media_type == _MULTIPART_TYPE:
        return _multipart(data, headers.get("content-type", ""), openrosa=False)
    raise InboxError(
        415,
        "unsupported_media_type",
        f"Content-Type {media_type} is not supported: send application/json, "
        "application/x-www-form-urlencoded, application/xml or an OpenRosa multipart submission",
    )


def media_type_of(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type header into its lower-case media type and its parameters."""
    kind, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for item in rest.split(";"):
        name, sep, param = item.partition("=")
        if sep:
            params[name.strip().lower()] = param.strip().strip('"')
    return kind.strip().lower(), params


def _too_large(max_bytes: int) -> InboxError:
    return InboxError(
        413,
        "payload_too_large",
        f"the body is larger than {max_bytes} bytes ([openfn] inbox_max_body_bytes)",
    )


def _decode_content(raw: bytes, encoding_header: str, max_bytes: int) -> bytes:
    encodings = [e.strip().lower() for e in encoding_header.split(",") if e.strip()]
    data = raw
    for encoding in reversed(encodings):  # the last one applied is undone first
        if encoding == "identity":
            continue
        if encoding in ("gzip", "x-gzip"):
            data = _inflate(data, zlib.MAX_WBITS | 16, max_bytes, "gzip")
        elif encoding == "deflate":
            data = _inflate(data, zlib.MAX_WBITS, max_bytes, "deflate")
        else:
            raise InboxError(
                415,
                "unsupported_media_type",
                f"Content-Encoding {encoding} is not supported: send gzip, deflate or no encoding",
            )
    return data


def _inflate(data: bytes, wbits: int, max_bytes: int, name: str) -> bytes:
    # Decompress at most one byte past the limit: a decompression bomb costs no more than that.
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise InboxError(
            400, "invalid_body", f"the {name} body cannot be decompressed: {exc}"
        ) from None
    if len(out) > max_bytes:
        raise InboxError(
            413,
            "payload_too_large",
            f"the {name} body decompresses to more than {max_bytes} bytes "
            "([openfn] inbox_max_body_bytes)",
        )
    if not inflater.eof:
        raise InboxError(400, "invalid_body", f"the {name} body is truncated")
    return out


def _sniff(data: bytes) -> str:
    first = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first in (b"{", b"["):
        return "application/json"
    if first == b"<":
        return "application/xml"
    raise InboxError(
        415,
        "unsupported_media_type",
        "the request has no Content-Type and the body is neither JSON nor XML: "
        "set Content-Type to application/json, application/x-www-form-urlencoded or application/xml",
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(data: bytes) -> ParsedBody:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InboxError(
            400, "invalid_body", f"the JSON body is not UTF-8 (byte {exc.start} is not valid)"
        ) from None
    try:
        body = json.loads(text, parse_constant=_refuse_constant, parse_float=_parse_float)
    except json.JSONDecodeError as exc:
        raise InboxError(
            400,
            "invalid_body",
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
        ) from None
    except ValueError as exc:  # NaN / Infinity
        raise InboxError(400, "invalid_body", f"invalid JSON: {exc}") from None
    except RecursionError:
        raise InboxError(400, "invalid_body", "invalid JSON: nested too deeply") from None
    # Only a body with that many brackets can be nested too deeply (a cheap test, in C).
    if _JSONB_UNSAFE_ESCAPE.search(text) or text.count("[") + text.count("{") > MAX_DEPTH:
        _check_storable(body)
    # Stored as sent: PostgreSQL parses the text itself, numbers keep their exact digits.
    return ParsedBody(body, text, "application/json", len(data))


def _parse_float(text: str) -> float:
    """Read a JSON number with a fraction or exponent; refuse one that cannot be read back."""
    # Only an exponent, or very many digits, make a number out of range.
    if "e" in text or "E" in text or len(text) > _MAX_INTEGER_DIGITS:
        try:
            _, digits, exponent = Decimal(text).as_tuple()
        except InvalidOperation:
            raise ValueError(f"{text[:40]} is not a number") from None
        assert isinstance(exponent, int)  # a finite number
        if len(digits) + exponent > _MAX_INTEGER_DIGITS or -exponent > _MAX_FRACTION_DIGITS:
            raise ValueError(f"the number {text[:40]} is out of range")
    return float(text)


def _as_json(body: Any, content_type: str, size: int) -> ParsedBody:
    _check_storable(body)
    return ParsedBody(body, json.dumps(body, ensure_ascii=False), content_type, size)


_TOO_DEEP = f"the body is nested too deeply (more than {MAX_DEPTH} levels)"


def _nested_too_deeply() -> InboxError:
    return InboxError(400, "invalid_body", _TOO_DEEP)


def unstorable(value: Any) -> str | None:
    """Say why a JSON value cannot be a message body, or None when it can.

    PostgreSQL's jsonb refuses NUL characters, unpaired surrogates, NaN and infinity; the JSON
    API cannot show nesting deeper than ``MAX_DEPTH``. Used for bodies edited through the API too.
    """
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                return _TOO_DEEP
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and _UNSAFE_CHAR.search(item):
            return (
                "the body holds a NUL character or an unpaired UTF-16 surrogate, "
                "which cannot be stored"
            )
        elif isinstance(item, float) and not math.isfinite(item):
            return "the body holds a number out of range (NaN or infinity)"
    return None


def _check_storable(value: Any) -> None:
    """Refuse a body ``unstorable`` finds a problem in."""
    problem = unstorable(value)
    if problem is not None:
        raise InboxError(400, "invalid_body", problem)


def _form(data: bytes, charset: str) -> dict[str, Any]:
    try:
        text = data.decode(charset)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InboxError(
            400, "invalid_body", f"the form body is not valid {charset}: {exc}"
        ) from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise InboxError(400, "invalid_body", f"the form body cannot be decoded: {exc}") from None
    return _fields(pairs)


def _fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name not in fields:
            fields[name] = value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return fields


def _multipart(data: bytes, content_type: str, *, openrosa: bool) -> ParsedBody:
    _, params = media_type_of(content_type)
    form = parse_form(data, content_type, params.get("boundary", ""))
    if form.submission is not None:
        parsed = _as_json(parse_xml(form.submission), "application/xml", len(data))
        if not openrosa:
            return replace(parsed, attachments=form.files)
        return replace(
            parsed,
            attachments=form.files,
            instance_id=instance_id(parsed.body),
            incomplete=form.incomplete,
        )
    if openrosa:
        raise InboxError(
            400, "invalid_body", f"the OpenRosa submission has no {OPENROSA_PART} part"
        )
    return replace(
        _as_json(_fields(form.fields), _MULTIPART_TYPE, len(data)), attachments=form.files
    )


def instance_id(body: Any) -> str | None:
    """An OpenRosa submission's ``meta/instanceID`` (``orx:meta/orx:instanceID`` too), or None."""
    root = next(iter(body.values()), None) if isinstance(body, dict) and len(body) == 1 else None
    if not isinstance(root, dict):
        return None
    for key, meta in root.items():
        if key.rpartition(":")[2] == "meta" and isinstance(meta, dict):
            for name, value in meta.items():
                if name.rpartition(":")[2] == "instanceID" and isinstance(value, str):
                    return value.strip() or None
    return None


class _XmlToJson(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        # Each open element: its name, its members (attributes, then children), its text pieces.
        self.stack: list[tuple[str, dict[str, Any], list[str]]] = []
        self.root: dict[str, Any] = {}

    def startElement(self, name: str, attrs: Any) -> None:
        if len(self.stack) >= MAX_DEPTH:  # stop reading: each element is a level of the JSON
            raise _nested_too_deeply()
        self.stack.append((name, {f"@{key}": attrs[key] for key in attrs.getNames()}, []))

    def characters(self, content: str) -> None:
        if self.stack:
            self.stack[-1][2].append(content)

    def endElement(self, name: str) -> None:
        _, members, pieces = self.stack.pop()
        text = "".join(pieces).strip()
        value: Any
        if members:
            value = members
            if text:
                value["#text"] = text
        else:
            value = text or None
        parent = self.stack[-1][1] if self.stack else self.root
        if name not in parent:
            parent[name] = value
        elif isinstance(parent[name], list):
            parent[name].append(value)
        else:
            parent[name] = [parent[name], value]


def parse_xml(data: bytes) -> dict[str, Any]:
    """Turn an XML document into JSON (``@attr`` keys, ``#text``); a DTD or entity is refused."""
    handler = _XmlToJson()
    try:
        # Namespaces stay as written: `xmlns` is an attribute and `jr:template` a name, as in OpenFn.
        defusedxml.sax.parseString(
            data, handler, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except SAXParseException as exc:
        raise InboxError(
            400,
            "invalid_body",
            f"invalid XML at line {exc.getLineNumber()}, column {(exc.getColumnNumber() or 0) + 1}: "
            f"{exc.getMessage()}",
        ) from None
    except defusedxml.DTDForbidden:
        raise InboxError(
            400,
            "invalid_body",
            "XML with a DTD (<!DOCTYPE ...>) is refused, as are entity declarations and external "
            "references: send the document without its <!DOCTYPE> declaration",
        ) from None
    except defusedxml.DefusedXmlException as exc:
        raise InboxError(
            400,
            "invalid_body",
            f"XML entity declarations and external references are refused ({exc})",
        ) from None
    return handler.root
