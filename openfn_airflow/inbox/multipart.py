"""Split a multipart/form-data body into its text fields, an OpenRosa submission and its files.

Pure: no database, no Airflow. The rules (README, "Attachments"):

- A part with a ``filename`` parameter is a file. When the body is an OpenRosa submission (it
  has an ``xml_submission_file`` part), every other part is a file too, but ``*isIncomplete*``
  (ODK Collect's mark on all but the last request of a split submission): ODK sends no other
  text field, and one that comes is kept as a file named after its field rather than dropped.
- A file's name is its filename without any folder (``C:\\photos\\a.jpg`` is ``a.jpg``), else its
  field's name, else ``file-<n>`` (n: its place among the parts); control characters become
  ``_``; at most ``MAX_NAME_CHARS`` characters.
- A part with an empty filename and no bytes is a file input left empty: skipped. Any other file,
  an empty one too, is kept.
- Two files of the same name: the same bytes are kept once; different bytes are refused (400),
  as a form's XML names its files and could not tell them apart.
- Its type is the part's media type, lower-case, without parameters; ``application/octet-stream``
  when it has none or one that is not a media type (``text/plain`` for a text field).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser

from openfn_airflow.inbox.errors import InboxError

OPENROSA_PART = "xml_submission_file"
INCOMPLETE_PART = "*isIncomplete*"
MAX_FILES = 1000
MAX_NAME_CHARS = 255
OCTET_STREAM = "application/octet-stream"
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Attachment:
    """One file of a message: its name, the form field it came in, its type and bytes."""

    name: str
    field: str | None
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Form:
    """A multipart body split up: text fields, the OpenRosa XML (or None) and the files."""

    fields: list[tuple[str, str]]
    submission: bytes | None
    files: tuple[Attachment, ...]
    incomplete: bool  # *isIncomplete* said yes: more requests of this submission follow


def parse_form(data: bytes, content_type: str, boundary: str) -> Form:
    """Split a multipart/form-data body (``content_type`` is its whole Content-Type header)."""
    if not boundary:
        raise InboxError(400, "invalid_body", "the multipart body has no boundary parameter")
    envelope = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = BytesParser(policy=policy.HTTP).parsebytes(envelope + data)
    parts = list(message.iter_parts()) if isinstance(message, EmailMessage) else []
    if not parts:
        raise InboxError(400, "invalid_body", "the multipart body has no parts")
    submissions = [part for part in parts if _field(part) == OPENROSA_PART]
    if len(submissions) > 1:
        raise InboxError(
            400, "invalid_body", f"the multipart body has {len(submissions)} {OPENROSA_PART} parts"
        )
    openrosa = bool(submissions)
    fields: list[tuple[str, str]] = []
    files: dict[str, Attachment] = {}
    incomplete = False
    for place, part in enumerate(parts, start=1):
        field = _field(part)
        content = _content(part)
        filename = part.get_param("filename", None, header="content-disposition")
        if field == OPENROSA_PART:
            continue
        if field == INCOMPLETE_PART and filename is None:
            incomplete = _text(part, content, field).strip().lower() == "yes"
            continue
        if filename is None and not openrosa:
            if field is not None:
                fields.append((field, _text(part, content, field)))
            elif content:  # a part without a name: kept as a file, not dropped
                _add(files, _attachment(part, place, None, "", content, "file"))
            continue
        if not filename and not content and filename is not None:
            continue  # a file input left empty
        kind = "file" if filename is not None else "text field"
        _add(files, _attachment(part, place, field, part.get_filename() or "", content, kind))
    if len(files) > MAX_FILES:
        raise InboxError(
            400,
            "too_many_files",
            f"the multipart body has {len(files):,} files, more than {MAX_FILES:,}: send them "
            "in several requests",
        )
    return Form(
        fields, _content(submissions[0]) if openrosa else None, tuple(files.values()), incomplete
    )


def _field(part: MIMEPart) -> str | None:
    name = part.get_param("name", None, header="content-disposition")
    return name if isinstance(name, str) else None


def _content(part: MIMEPart) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _text(part: MIMEPart, content: bytes, field: str) -> str:
    charset = part.get_content_charset() or "utf-8"
    try:
        return content.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise InboxError(
            400, "invalid_body", f"the multipart field {field} is not valid {charset}"
        ) from None


def _attachment(
    part: MIMEPart, place: int, field: str | None, filename: str, content: bytes, kind: str
) -> Attachment:
    name = _clean(filename) or _clean(field or "") or f"file-{place}"
    if len(name) > MAX_NAME_CHARS:
        raise InboxError(
            400,
            "invalid_file_name",
            f"a file name has at most {MAX_NAME_CHARS} characters; part {place} has one of "
            f"{len(name):,}",
        )
    declared = str(part.get("content-type") or "").partition(";")[0].strip().lower()
    default = "text/plain" if kind == "text field" else OCTET_STREAM
    content_type = declared if _MEDIA_TYPE.match(declared) else default
    return Attachment(
        name, None if field is None else _CONTROL.sub("_", field), content_type, content
    )


def _clean(name: str) -> str:
    """The last segment of a path (browsers once sent whole paths), control characters as _."""
    last = re.split(r"[/\\]", name)[-1]
    return _CONTROL.sub("_", last).strip()


def _add(files: dict[str, Attachment], attachment: Attachment) -> None:
    kept = files.get(attachment.name)
    if kept is None:
        files[attachment.name] = attachment
    elif kept.data != attachment.data:
        raise InboxError(
            400,
            "duplicate_file_name",
            f"two different files are named {attachment.name!r}: a message's file names must "
            "be unique",
        )
