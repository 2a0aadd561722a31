"""GitHub webhook deliveries: the ``X-Hub-Signature-256`` check and push event payloads.

No Airflow import: these are plain functions over the raw request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import parse_qs

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
BRANCH_PREFIX = "refs/heads/"
# A full object name: SHA-1 (40 hex digits) or SHA-256 (64). GitHub always sends full ones.
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


class BadPayload(ValueError):
    """The delivery's body is not a push event this server can read."""


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``: ``sha256=<hex HMAC>``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the HMAC-SHA256 of the raw ``body`` under ``secret`` (constant time)."""
    if not secret or not header:
        return False
    given = header.strip().lower().encode("latin-1", "replace")
    return hmac.compare_digest(sign(secret, body).encode("ascii"), given)


def is_commit(value: Any) -> TypeGuard[str]:
    """Whether ``value`` is a full commit id (lower-case hex)."""
    return isinstance(value, str) and _COMMIT.match(value) is not None


@dataclass(frozen=True)
class PushEvent:
    """What a push event says: which ref moved, to which commit."""

    ref: str
    after: str
    before: str | None = None
    deleted: bool = False
    repository: str | None = None
    pusher: str | None = None

    @property
    def branch(self) -> str | None:
        """The pushed branch's name, or None when the ref is not a branch (a tag)."""
        if self.ref.startswith(BRANCH_PREFIX):
            return self.ref[len(BRANCH_PREFIX) :]
        return None

    @property
    def removes_ref(self) -> bool:
        """A push that deleted the ref (GitHub sends ``after`` as zeros)."""
        return self.deleted or set(self.after) == {"0"}


def decode_payload(body: bytes, content_type: str | None) -> Any:
    """The delivery's JSON document (GitHub sends JSON, or a form with a ``payload`` field)."""
    text: str | bytes = body
    if (content_type or "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadPayload(f"the form body does not parse: {exc}") from exc
        if not fields.get("payload"):
            raise BadPayload("the form body has no 'payload' field")
        text = fields["payload"][0]
    try:
        return json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload(f"the body is not JSON: {exc}") from exc
    except RecursionError:  # nested deeper than Python's json reads: not a push event
        raise BadPayload("the body is not JSON a push event can be: nested too deeply") from None


def parse_push(payload: Any) -> PushEvent:
    """Read a push event's ``ref``, ``after`` and what else is useful to say in the answer."""
    if not isinstance(payload, dict):
        raise BadPayload("a push event is a JSON object")
    ref, after = payload.get("ref"), payload.get("after")
    if not isinstance(ref, str) or not ref:
        raise BadPayload("the push event has no 'ref'")
    if not isinstance(after, str) or not (is_commit(after) or set(after) == {"0"}):
        raise BadPayload("the push event's 'after' is not a full commit id")
    before = payload.get("before")
    repository = payload.get("repository")
    pusher = payload.get("pusher")
    return PushEvent(
        ref=ref,
        after=after,
        before=before if isinstance(before, str) else None,
        deleted=payload.get("deleted") is True,
        repository=repository.get("full_name") if isinstance(repository, dict) else None,
        pusher=pusher.get("name") if isinstance(pusher, dict) else None,
    )
