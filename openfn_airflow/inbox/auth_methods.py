"""Inbox auth methods: create them (the secret is shown once) and check a request against them.

Three kinds, any one of which lets a request in: an API key (``x-api-key``, stored as its
sha256), basic auth (``Authorization: Basic``, the password stored as a salted scrypt hash) and
Standard Webhooks signatures (``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``; the
secret must be read back to verify, so it is stored encrypted with Airflow's fernet key).
A project that never had a method takes every request; one whose methods were all revoked takes
none until it is opened again (``openfn_project.inbox_requires_auth``). Secrets are compared in
constant time.

A request is checked in steps, so that a wrong one costs as little as possible: ``check_headers``
decides what the headers alone can (API keys, basic credentials verified before, missing
credentials) without reading the body; a basic password not seen before is verified with scrypt
in a small pool of its own (``verify_password_bounded``), never in the server's threads; a webhook
signature, which covers the body, is checked last (``check_signature``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg

from openfn_airflow.inbox.errors import InboxError
from openfn_airflow.store import auth_methods as store

API_KEY_HEADER = "x-api-key"
WEBHOOK_TOLERANCE_SECONDS = 300
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_TOUCH_EVERY_SECONDS = 60.0
_CACHE_LIMIT = 10_000
# scrypt takes ~80 ms of one core on purpose: one thread per api-server process verifies
# passwords, and past this many waiting the inbox answers 429 at once (a flood of guesses from
# many addresses, each under its rate limit, takes one core at most and queues no further).
SCRYPT_THREADS = 1
SCRYPT_MAX_WAITING = 32
BUSY_RETRY_AFTER_SECONDS = 1

# sha256 of a presented basic credential -> (method id, stored hash) it was verified against:
# scrypt is slow on purpose, and a busy sender presents the same credential on every request.
_verified: dict[str, tuple[int, str]] = {}
_touched: dict[int, float] = {}
_lock = threading.Lock()
_scrypt_pool = ThreadPoolExecutor(max_workers=SCRYPT_THREADS, thread_name_prefix="openfn-scrypt")
_scrypt_waiting = 0


class WrongCredentials(InboxError):
    """Credentials were presented and none matches: 404, as an unknown inbox (a guess learns
    nothing); the caller counts the failure first."""

    def __init__(self) -> None:
        super().__init__(404, "inbox_not_found", "no inbox here")


@dataclass(frozen=True)
class Password:
    """A basic-auth password presented for a method, not verified yet."""

    method_id: int
    password: str
    stored_hash: str
    fingerprint: str


@dataclass(frozen=True)
class Verdict:
    """What the headers decided: a method (or None: the inbox is open), else what is left."""

    method_id: int | None = None
    decided: bool = True
    password: Password | None = None  # verify it (scrypt) before anything else
    signed: bool = False  # a webhook signature, checked against the body once read


def add_api_key(conn: psycopg.Connection[Any], project: str) -> tuple[dict[str, Any], str]:
    """Create an API key method; return the method and the key (shown once, stored hashed)."""
    key = secrets.token_hex(32)
    method = store.add_auth_method(
        conn, project=project, kind="api_key", secret_hash=_sha256(key), secret_hint=key[-4:]
    )
    return method, key


def add_basic(
    conn: psycopg.Connection[Any], project: str, username: str, password: str | None = None
) -> tuple[dict[str, Any], str]:
    """Create a basic-auth method; return it and the password (generated unless given)."""
    if not username or ":" in username:
        raise ValueError("a basic-auth username is not empty and holds no ':'")
    password = password or secrets.token_urlsafe(24)
    if not 8 <= len(password) <= 128:
        raise ValueError("a basic-auth password has 8 to 128 characters")
    method = store.add_auth_method(
        conn,
        project=project,
        kind="basic",
        username=username,
        secret_hash=hash_password(password),
        secret_hint="",  # no part of a password is kept in the clear
    )
    return method, password


def add_webhook(conn: psycopg.Connection[Any], project: str) -> tuple[dict[str, Any], str]:
    """Create a Standard Webhooks method; return it and its ``whsec_`` signing secret."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    method = store.add_auth_method(
        conn,
        project=project,
        kind="webhook",
        secret_encrypted=_encrypt(secret),
        secret_hint=secret[-4:],
    )
    return method, secret


def check_headers(
    methods: list[dict[str, Any]], headers: Mapping[str, str], *, requires_auth: bool
) -> Verdict:
    """Decide what the headers alone can, cheaply (no scrypt, no body).

    Raises InboxError 401 when no credentials are presented or the inbox is closed (methods all
    revoked), WrongCredentials when they are and nothing is left to check.
    """
    if not methods:
        if requires_auth:
            raise InboxError(
                401,
                "unauthorized",
                "this inbox is closed: it takes no request until an auth method is added",
                {"WWW-Authenticate": 'Basic realm="OpenFn inbox"'},
            )
        return Verdict()
    api_key = headers.get(API_KEY_HEADER)
    basic = _basic_credentials(headers.get("authorization", ""))
    signed = "webhook-signature" in headers
    if api_key is None and basic is None and not signed:
        raise InboxError(
            401,
            "unauthorized",
            "this inbox needs credentials: an x-api-key header, basic auth or a signed webhook",
            {"WWW-Authenticate": 'Basic realm="OpenFn inbox"'},
        )
    if api_key is not None:
        matched = _match_api_key(methods, api_key)
        if matched is not None:
            return Verdict(matched)
    password = None
    if basic is not None:
        matched, password = _match_basic_cached(methods, *basic)
        if matched is not None:
            return Verdict(matched)
    if password is None and not signed:
        raise WrongCredentials()
    return Verdict(None, decided=False, password=password, signed=signed)


def after_password(verdict: Verdict, method_id: int | None) -> Verdict:
    """The verdict once its password was verified: its method, else the signature or a refusal."""
    if method_id is not None:
        return Verdict(method_id)
    if verdict.signed:
        return Verdict(None, decided=False, signed=True)
    raise WrongCredentials()


def verify_password_once(password: Password) -> int | None:
    """Verify a presented password (scrypt, here); remember it when right. Return its method."""
    if not verify_password(password.password, password.stored_hash):
        return None
    with _lock:
        if len(_verified) >= _CACHE_LIMIT:
            _verified.clear()
        _verified[password.fingerprint] = (password.method_id, password.stored_hash)
    return password.method_id


async def verify_password_bounded(password: Password) -> int | None:
    """``verify_password_once`` in the scrypt pool; raise InboxError 429 when too many wait."""
    global _scrypt_waiting
    with _lock:
        if _scrypt_waiting >= SCRYPT_MAX_WAITING:
            busy = True
        else:
            busy = False
            _scrypt_waiting += 1
    if busy:
        raise InboxError(
            429,
            "too_many_requests",
            "too many passwords are being checked; retry later",
            {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
        )
    try:
        future = _scrypt_pool.submit(verify_password_once, password)
        return await asyncio.wrap_future(future)
    finally:
        with _lock:
            _scrypt_waiting -= 1


def check_signature(
    methods: list[dict[str, Any]], headers: Mapping[str, str], body: bytes
) -> int | None:
    """Return the webhook method whose signature the request carries over ``body``, or None."""
    if "webhook-signature" not in headers:
        return None
    return _match_webhook(methods, headers, body)


def touch(conn: psycopg.Connection[Any], method_id: int) -> None:
    """Record that a method was used (a write at most once a minute per method and process)."""
    _touch(conn, method_id)


def hash_password(password: str) -> str:
    """Hash a password as ``scrypt$n$r$p$salt$hash`` (base64 parts)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    parts = [str(_SCRYPT["n"]), str(_SCRYPT["r"]), str(_SCRYPT["p"]), _b64(salt), _b64(digest)]
    return "scrypt$" + "$".join(parts)


def verify_password(password: str, stored: str) -> bool:
    """Check a password against ``hash_password``'s output, in constant time."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, binascii.Error):
        return False
    return kind == "scrypt" and hmac.compare_digest(actual, expected)


def webhook_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """Return the ``v1,<base64>`` signature a Standard Webhooks sender puts on a delivery."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + _b64(hmac.new(key, signed, hashlib.sha256).digest())


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")  # presented, and wrong
    username, _, password = decoded.partition(":")
    return username, password


def _match_api_key(methods: list[dict[str, Any]], key: str) -> int | None:
    presented = _sha256(key)
    found = None
    for method in methods:  # every key compared, so timing does not tell which one matched
        if method["kind"] == "api_key" and hmac.compare_digest(
            presented, method["secret_hash"] or ""
        ):
            found = method["id"]
    return found


def _match_basic_cached(
    methods: list[dict[str, Any]], username: str, password: str
) -> tuple[int | None, Password | None]:
    """The method a credential verified before still matches; else the password to verify."""
    candidates = [m for m in methods if m["kind"] == "basic"]
    fingerprint = _sha256(f"{username}:{password}")
    cached = _verified.get(fingerprint)
    if cached is not None:
        for method in candidates:
            if (method["id"], method["secret_hash"]) == cached:
                return method["id"], None  # still active with the same password
    for method in candidates:
        if hmac.compare_digest(username.encode(), (method["username"] or "").encode()):
            stored = method["secret_hash"] or ""
            return None, Password(method["id"], password, stored, fingerprint)
    return None, None


def _match_webhook(
    methods: list[dict[str, Any]], headers: Mapping[str, str], body: bytes
) -> int | None:
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    try:
        sent_at = int(timestamp)
    except ValueError:
        return None
    if not msg_id or abs(time.time() - sent_at) > WEBHOOK_TOLERANCE_SECONDS:
        return None
    offered = [sig for sig in headers.get("webhook-signature", "").split() if sig.startswith("v1,")]
    for method in methods:
        if method["kind"] != "webhook":
            continue
        try:
            expected = webhook_signature(
                _decrypt(method["secret_encrypted"] or ""), msg_id, timestamp, body
            )
        except (ValueError, binascii.Error):
            continue
        if any(hmac.compare_digest(expected.encode(), sig.encode()) for sig in offered):
            return method["id"]
    return None


def _encrypt(secret: str) -> str:
    from airflow.models.crypto import get_fernet

    fernet = get_fernet()
    if not fernet.is_encrypted:  # no [core] fernet_key: stored as Airflow stores connections then
        return "plain:" + secret
    return "fernet:" + fernet.encrypt(secret.encode()).decode()


def _decrypt(stored: str) -> str:
    kind, _, value = stored.partition(":")
    if kind == "plain":
        return value
    from airflow.models.crypto import get_fernet

    try:
        return get_fernet().decrypt(value.encode()).decode()
    except Exception as exc:  # InvalidToken, or no key any more
        raise ValueError(f"the webhook secret cannot be decrypted: {exc}") from None


def _touch(conn: psycopg.Connection[Any], method_id: int) -> None:
    now = time.monotonic()
    last = _touched.get(method_id)
    if last is not None and now - last < _TOUCH_EVERY_SECONDS:
        return
    _touched[method_id] = now
    store.touch_auth_method(conn, method_id)
