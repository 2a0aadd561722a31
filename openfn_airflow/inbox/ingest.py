"""Receive one inbox request: find the project, authenticate, parse, then store in ONE statement.

The message, its files, its answer and one dispatch row per matching trigger are written by a
single SQL statement (``receive_message``), so on an autocommit connection a request costs two
round trips: the inbox lookup and that statement. ``202`` is answered only once it committed; the
dispatcher turns the dispatch rows into asset events afterwards.

OpenRosa: a submission's ``meta/instanceID`` is its idempotency key. ODK Collect splits a
submission bigger than the inbox's limit into several requests, all but the last marked
``*isIncomplete*``: the first is stored without dispatch rows, each later one adds its files to
that message (one short transaction), and the last delivers it. A submission sent again adds
only files not stored yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from openfn_airflow.inbox import admission, settings
from openfn_airflow.inbox.admission import Admission
from openfn_airflow.inbox.bodies import ParsedBody, parse_body
from openfn_airflow.inbox.errors import InboxError
from openfn_airflow.store import inbox as store
from openfn_airflow.store.errors import StoreError

# Never stored: the message's headers are shown to operators and passed to jobs. Senders name
# their credential headers freely (X-Auth-Token, Private-Token, X-Hub-Signature-256), so any name
# holding one of these words is left out, not only the headers the inbox itself reads.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
SECRET_HEADER_WORDS = (
    "token",
    "secret",
    "key",
    "auth",
    "password",
    "signature",
    "session",
    "credential",
    "hmac",
)
IDEMPOTENCY_HEADERS = ("idempotency-key", "webhook-id")
# Longer keys do not fit in the index that makes them unique (PostgreSQL: 2,704 bytes a row).
MAX_IDEMPOTENCY_KEY_LENGTH = 255
# An OpenRosa submission's instanceID is its idempotency key (unless the request has one): a
# later request of a split submission, or one sent again, adds its files to the same message.
OPENROSA_KEY_PREFIX = "openrosa:"
# Bodies up to this size get their search vector in the insert (it adds ~0.2-0.3 ms there);
# bigger ones are indexed by the dispatcher, where a vector too big for PostgreSQL cannot fail
# the request.
INDEX_INLINE_MAX_BYTES = 256 * 1024


@dataclass
class Receipt:
    """The HTTP answer to an inbox request."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def receive(
    conn: psycopg.Connection[Any],
    *,
    inbox_id: str = "",
    admitted: Admission | None = None,
    method: str,
    path: str,
    query: Mapping[str, Any],
    headers: Mapping[str, str],
    raw: bytes,
    openrosa: bool = False,
) -> Receipt:
    """Store a request to an inbox as a message and answer it (202, or the refusal).

    ``headers`` may have any case. ``openrosa``: an OpenRosa submission, answered 201.
    ``admitted``: what ``admission.admit`` let in before the body was read (else ``inbox_id``
    is looked up and checked here). Raises DatabaseUnavailable (StaleConnection when nothing
    was written yet).
    """
    headers = {name.lower(): value for name, value in headers.items()}
    try:
        project = _authenticate(conn, inbox_id, admitted, headers, raw)
        parsed = parse_body(
            raw,
            headers,
            max_bytes=settings.max_body_bytes(),
            query=query,
            openrosa=openrosa,
        )
        _check_request(path, query, headers)
        key = next((headers[name] for name in IDEMPOTENCY_HEADERS if headers.get(name)), None)
        instance_key = _instance_key(parsed) if key is None else None
        answer, repeated = _store(
            conn,
            project=project,
            parsed=parsed,
            method=method,
            path=path,
            query=dict(query),
            headers=headers,
            key=key or instance_key,
        )
        if repeated and instance_key is not None:
            answer = _next_part(conn, project, parsed, answer)
    except InboxError as refused:
        return Receipt(refused.status, refused.body(), refused.headers)
    return Receipt(201 if openrosa else 202, answer)


def describe(
    conn: psycopg.Connection[Any],
    *,
    inbox_id: str = "",
    admitted: Admission | None = None,
    headers: Mapping[str, str],
) -> Receipt:
    """Answer a GET (or OpenRosa HEAD) on an inbox: it exists, and nothing more."""
    headers = {name.lower(): value for name, value in headers.items()}
    try:
        _authenticate(conn, inbox_id, admitted, headers, b"")
    except InboxError as refused:
        return Receipt(refused.status, refused.body(), refused.headers)
    return Receipt(200, {"message": "OpenFn inbox found. POST a message to it."})


def _authenticate(
    conn: psycopg.Connection[Any],
    inbox_id: str,
    admitted: Admission | None,
    headers: dict[str, str],
    raw: bytes,
) -> str:
    if admitted is None:
        admitted = admission.admit(conn, inbox_id=inbox_id, headers=headers, client="")
    return admission.finish(conn, admitted, headers, raw)


def _check_request(path: str, query: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    """Refuse a request whose path, query or headers PostgreSQL cannot store (a NUL character;
    no HTTP server passes one in a header, but ``%00`` decodes to one in a path or query)."""
    values = [value for value in query.values() if isinstance(value, str)]
    values += [item for value in query.values() if isinstance(value, list) for item in value]
    for where, texts in (
        ("path", [path]),
        ("query string", [*query, *values]),
        ("headers", [*headers, *headers.values()]),
    ):
        if any("\x00" in text for text in texts):
            raise InboxError(
                400, "invalid_request", f"the {where} holds a NUL character, which cannot be stored"
            )
    key = next((headers[name] for name in IDEMPOTENCY_HEADERS if headers.get(name)), "")
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InboxError(
            400,
            "invalid_idempotency_key",
            f"an idempotency key (Idempotency-Key or webhook-id) has at most "
            f"{MAX_IDEMPOTENCY_KEY_LENGTH} characters, this one {len(key)}",
        )


def _instance_key(parsed: ParsedBody) -> str | None:
    if parsed.instance_id is None:
        return None
    key = OPENROSA_KEY_PREFIX + parsed.instance_id
    return key if len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH else None


def _next_part(
    conn: psycopg.Connection[Any], project: str, parsed: ParsedBody, answer: dict[str, Any]
) -> dict[str, Any]:
    """A request of an OpenRosa submission already stored: its files join that message."""
    message_id = answer["message_id"]
    part = store.add_submission_part(
        conn,
        project=project,
        message_id=message_id,
        body_json=parsed.json_text,
        files=parsed.attachments,
        last=not parsed.incomplete,
    )
    if not conn.autocommit:
        conn.commit()
    if not part.found:  # deleted since its key was read: a retry stores it anew
        raise InboxError(409, "idempotency_conflict", "this submission's message is gone; retry")
    if not part.same_body:
        raise InboxError(
            409,
            "submission_conflict",
            f"instance {parsed.instance_id} was received before (message {message_id}) with "
            "another form: nothing was stored; a changed submission needs a new instanceID",
        )
    if part.clashes:
        raise InboxError(
            409,
            "duplicate_file_name",
            f"message {message_id} (instance {parsed.instance_id}) already has other files "
            f"named {', '.join(part.clashes)}: nothing was stored",
        )
    if part.delivered is not None:
        return {**answer, "matched": part.delivered}
    return answer


def _store(
    conn: psycopg.Connection[Any],
    *,
    project: str,
    parsed: ParsedBody,
    method: str,
    path: str,
    query: dict[str, Any],
    headers: dict[str, str],
    key: str | None,
) -> tuple[dict[str, Any], bool]:
    """The new message's answer, or the first answer to its idempotency key (True)."""
    kept = {name: value for name, value in headers.items() if not carries_credentials(name)}
    for _ in range(3):
        row = _receive_message(
            conn,
            project=project,
            body_json=parsed.json_text,
            headers=kept,
            method=method,
            path=path,
            query=query or None,
            content_type=parsed.content_type,
            size_bytes=parsed.size_bytes,
            idempotency_key=key,
            # The body, not the files, is indexed.
            index_now=parsed.size_bytes - sum(f.size for f in parsed.attachments)
            <= INDEX_INLINE_MAX_BYTES,
            files=parsed.attachments,
            # Without a key, no later request could complete it: delivered now.
            incomplete=parsed.incomplete and key is not None,
        )
        if not conn.autocommit:
            conn.commit()
        if row["response"] is not None:
            return row["response"], False
        if row["previous"] is not None:
            return row["previous"], True
        # The key is held by a request that committed after this statement began, or by a
        # message older than 24 h: free an expired key, then the next attempt sees either.
        assert key is not None
        store.expire_idempotency_key(conn, project, key)
        if not conn.autocommit:
            conn.commit()
    raise InboxError(409, "idempotency_conflict", "this Idempotency-Key is in use; retry")


def carries_credentials(name: str) -> bool:
    """Tell whether a header (lower-case name) may carry a credential, so is never stored.

    The idempotency key is none: it is kept, and read (for its own column) before this.
    """
    if name in IDEMPOTENCY_HEADERS:
        return False
    return name in SECRET_HEADERS or any(word in name for word in SECRET_HEADER_WORDS)


def _receive_message(conn: psycopg.Connection[Any], **fields: Any) -> dict[str, Any]:
    """``store.receive_message``; a value PostgreSQL refuses is the request's fault: 400."""
    try:
        return store.receive_message(conn, **fields)
    except StoreError as exc:
        if not isinstance(exc.__cause__, psycopg.DataError):
            raise
        if not conn.autocommit:
            conn.rollback()
        reason = str(exc).splitlines()[0]
        raise InboxError(400, "invalid_body", f"the message cannot be stored: {reason}") from None
