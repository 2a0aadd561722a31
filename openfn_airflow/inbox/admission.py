"""Admit an inbox request in steps, before its body is read: the inbox, its credentials, and
the limit on wrong ones.

``admit`` (one query: the inbox, its active methods, the client's failures this minute) decides
what the headers can; a basic password seen for the first time is verified next, in the scrypt
pool (``auth_methods.verify_password_bounded``) or, for callers without an event loop, by
``finish``; the routes read the body only after that, and ``finish`` checks a webhook signature
over it. Every wrong attempt is counted in PostgreSQL per project and client address (one upsert,
for failures only: a right request writes nothing), so the limit holds across api-servers; past it
the inbox answers 429 with Retry-After and verifies no password for that client, while right API
keys and passwords verified before still get in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from openfn_airflow.inbox import auth_methods, settings
from openfn_airflow.inbox.errors import InboxError
from openfn_airflow.store import auth_methods as auth_store
from openfn_airflow.store import inbox as store
from openfn_airflow.store.errors import DatabaseUnavailable


class StaleConnection(DatabaseUnavailable):
    """The connection failed before anything was written: retrying on a new one is safe."""


@dataclass(frozen=True)
class Admission:
    """A request the headers let in so far: its project, and what is left to check."""

    project: str
    client: str
    methods: list[dict[str, Any]]
    verdict: auth_methods.Verdict


def admit(
    conn: psycopg.Connection[Any], *, inbox_id: str, headers: Mapping[str, str], client: str
) -> Admission:
    """Find the inbox and check what the headers carry; raise the InboxError to answer.

    ``headers`` have lower-case names; ``client``: the sender's address (the rate limit's key).
    Raises StaleConnection when the lookup fails.
    """
    try:
        inbox = store.get_inbox(conn, inbox_id, client)
    except DatabaseUnavailable as exc:
        raise StaleConnection(str(exc)) from exc
    if inbox is None:
        raise InboxError(404, "inbox_not_found", "no inbox here")
    project = inbox["project"]
    try:
        verdict = auth_methods.check_headers(
            inbox["auth_methods"], headers, requires_auth=inbox["requires_auth"]
        )
    except auth_methods.WrongCredentials:
        raise _failed(conn, project, client) from None
    limit = settings.auth_failures_per_minute()
    if not verdict.decided and limit and inbox["failures"] >= limit:
        raise _too_many(inbox["retry_after"])
    return Admission(project, client, inbox["auth_methods"], verdict)


def verified(
    conn: psycopg.Connection[Any], admission: Admission, method_id: int | None
) -> Admission:
    """The admission once its password was verified (``method_id`` None: it was wrong)."""
    try:
        verdict = auth_methods.after_password(admission.verdict, method_id)
    except auth_methods.WrongCredentials:
        raise _failed(conn, admission.project, admission.client) from None
    return replace(admission, verdict=verdict)


def finish(
    conn: psycopg.Connection[Any], admission: Admission, headers: Mapping[str, str], raw: bytes
) -> str:
    """Check what is left (a password, a webhook signature over ``raw``); return the project."""
    if admission.verdict.password is not None:
        method_id = auth_methods.verify_password_once(admission.verdict.password)
        admission = verified(conn, admission, method_id)
    verdict = admission.verdict
    matched = verdict.method_id
    if not verdict.decided:
        matched = auth_methods.check_signature(admission.methods, headers, raw)
        if matched is None:
            raise _failed(conn, admission.project, admission.client)
    if matched is not None:
        auth_methods.touch(conn, matched)
    return admission.project


def _failed(conn: psycopg.Connection[Any], project: str, client: str) -> InboxError:
    """Count a wrong attempt; return what to answer it (404, or 429 past the limit)."""
    counted = auth_store.record_auth_failure(conn, project, client)
    limit = settings.auth_failures_per_minute()
    if limit and counted["failures"] > limit:
        return _too_many(counted["retry_after"])
    return auth_methods.WrongCredentials()


def _too_many(retry_after: int) -> InboxError:
    return InboxError(
        429,
        "too_many_requests",
        f"too many wrong credentials from this address; retry in {retry_after} s",
        {"Retry-After": str(retry_after)},
    )
