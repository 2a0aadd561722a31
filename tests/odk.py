"""ODK Collect submissions as ODK Collect sends them: an XML instance, a photo, a signature.

ODK Collect (``OkHttpConnection.uploadSubmissionAndFiles``) posts multipart/form-data through
OkHttp: the instance as ``xml_submission_file`` (text/xml), then each file with its file name as
both field name and filename, and ``*isIncomplete*: yes`` on every request but the last of a
submission it split to stay under the server's ``X-OpenRosa-Accept-Content-Length``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "odk"
PHOTO = (FIXTURES / "photo.jpg").read_bytes()  # 320x240 JPEG from Chromium's canvas
SIGNATURE = (FIXTURES / "signature.png").read_bytes()  # 300x100 RGBA PNG
PHOTO_NAME = "1717156800123.jpg"
SIGNATURE_NAME = "signature_1717156805456.png"


def instance_xml(
    instance_id: str,
    *,
    form: str = "visit",
    patient: str = "Ada Lovelace",
    photo: str | None = PHOTO_NAME,
    signature: str | None = SIGNATURE_NAME,
) -> bytes:
    """A form instance naming its files, as ODK Collect saves it."""
    media = (f"<photo>{photo}</photo>" if photo else "") + (
        f"<signature>{signature}</signature>" if signature else ""
    )
    return (
        "<?xml version='1.0' ?>"
        f'<data id="{form}" version="2024053101" '
        'xmlns:orx="http://openrosa.org/xforms" xmlns:jr="http://openrosa.org/javarosa">'
        f"<form>{form}</form><patient>{patient}</patient>{media}"
        f"<orx:meta><orx:instanceID>{instance_id}</orx:instanceID></orx:meta></data>"
    ).encode()


def new_instance_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def odk_request(
    xml: bytes,
    files: Sequence[tuple[str, str, bytes]] = (),
    *,
    incomplete: bool = False,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one ODK Collect submission request."""
    boundary = str(uuid.uuid4())
    parts = [_part("xml_submission_file", "instance.xml", "text/xml", xml)]
    parts += [_part(name, name, content_type, data) for name, content_type, data in files]
    if incomplete:
        parts.append(
            b'Content-Disposition: form-data; name="*isIncomplete*"\r\nContent-Length: 3\r\n\r\nyes'
        )
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    headers = {
        "content-type": f"multipart/form-data; boundary={boundary}",
        "x-openrosa-version": "1.0",
        "user-agent": "org.odk.collect.android/v2024.2.4 okhttp/4.12.0",
    }
    return body, headers


def _part(field: str, filename: str, content_type: str, data: bytes) -> bytes:
    field, filename = _quoted(field), _quoted(filename)
    return (
        f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data


def visit(instance_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    """A whole visit submission: instance, photo and signature in one request."""
    xml = instance_xml(instance_id or new_instance_id())
    return odk_request(
        xml, [(PHOTO_NAME, "image/jpeg", PHOTO), (SIGNATURE_NAME, "image/png", SIGNATURE)]
    )


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
