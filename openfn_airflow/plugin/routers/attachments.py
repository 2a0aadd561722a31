"""A message's files (an ODK submission's photos and signatures): download one.

Access is the message's: whoever may see the message's project may download its files; anyone
else gets 404, as for the message. What a sender uploaded must not run in this origin: a file is
always an attachment (``Content-Disposition``), never sniffed, sandboxed should a browser show it
anyway, and served with its own type only when that is an image, audio or video type a browser
cannot run script from; anything else (HTML, SVG, XML, PDF, ...) is ``application/octet-stream``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter
from fastapi import Path as FastAPIPath
from fastapi.responses import Response

from openfn_airflow.plugin.deps import ConnDep
from openfn_airflow.plugin.models.common import PathId
from openfn_airflow.plugin.permissions import PermissionsDep, not_found
from openfn_airflow.plugin.routers.messages import visible_message
from openfn_airflow.store import attachments

OCTET_STREAM = "application/octet-stream"
# Served as themselves (a page may show them in <img>, <audio>, <video>): formats that hold no
# script. Not image/svg+xml, which does.
PLAIN_MEDIA_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/bmp",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
        "audio/wav",
        "audio/x-wav",
        "audio/webm",
        "audio/aac",
        "audio/amr",
        "audio/3gpp",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "video/3gpp",
        "video/quicktime",
    }
)
# A position is a small number (the files of one request are at most 1,000); more digits name a
# file, never an integer PostgreSQL would refuse.
_MAX_POSITION_DIGITS = 9

router = APIRouter(tags=["messages"])

AttachmentRef = Annotated[
    str,
    FastAPIPath(
        min_length=1,
        max_length=255,
        description="Its position (digits: 1 is the first file) or its file name.",
    ),
]


def served_type(content_type: str) -> str:
    """The Content-Type a stored file is served with."""
    return content_type if content_type in PLAIN_MEDIA_TYPES else OCTET_STREAM


def content_disposition(name: str) -> str:
    """``attachment`` with the name as ASCII (anything else as ``_``) and as UTF-8 (RFC 6266)."""
    ascii_name = "".join(c if " " <= c <= "~" and c not in '"\\%;' else "_" for c in name).strip()
    return (
        f"attachment; filename=\"{ascii_name or 'file'}\"; filename*=UTF-8''{quote(name, safe='')}"
    )


@router.get(
    "/messages/{message_id}/attachments/{attachment}",
    response_class=Response,
    responses={
        200: {
            "description": "The file's bytes.",
            "content": {
                media_type: {} for media_type in sorted({*PLAIN_MEDIA_TYPES, OCTET_STREAM})
            },
        }
    },
)
def download_attachment(
    message_id: PathId, attachment: AttachmentRef, conn: ConnDep, perms: PermissionsDep
) -> Response:
    """Download one file of a message, by position or by name."""
    visible_message(conn, perms, message_id)
    by_position = attachment.isascii() and attachment.isdigit()
    if by_position and len(attachment) <= _MAX_POSITION_DIGITS:
        row = attachments.get_attachment(conn, message_id, position=int(attachment))
    elif by_position:
        row = None
    else:
        row = attachments.get_attachment(conn, message_id, name=attachment)
    conn.rollback()
    if row is None:
        raise not_found(f"Message {message_id} has no file {attachment!r}")
    return Response(
        bytes(row["data"]),
        media_type=served_type(row["content_type"]),
        headers={
            "Content-Disposition": content_disposition(row["name"]),
            "X-Content-Type-Options": "nosniff",
            # Should a browser show it anyway: no script, no plugin, no request of its own.
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cross-Origin-Resource-Policy": "same-origin",
            # Retention forgets the file: no copy stays in a browser's or proxy's cache.
            "Cache-Control": "no-store",
        },
    )
