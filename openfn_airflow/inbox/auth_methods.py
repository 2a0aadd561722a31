"""Inbox auth methods: create them (the secret is shown once) and check a request against them.

Three kinds, any one of which lets a request in: an API key (``x-api-key``, stored as its
sha256), basic auth (``Authorization: Basic``, the password stored as a salted scrypt hash) and
Standard Webhooks signatures (``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``; the
secret must be read back to verify, so it is stored encrypted with Airflow's fernet key).
A project without active methods takes every request. Secrets are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

import psycopg

from openfn_airflow.inbox.errors import InboxError
from openfn_airflow.store import auth_methods as store

API_KEY_HEADER = "x-api-key"
WEBHOOK_TOLERANCE_SECONDS = 300
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_TOUCH_EVERY_SECONDS = 60.0
_CACHE_LIMIT = 10_000

# sha256 of a presented basic credential -> (method id, stored hash) it was verified against:
# scrypt is slow on purpose, and a busy sender presents the same credential on every request.
_verified: dict[str, tuple[int, str]] = {}
_touched: dict[int, float] = {}
_lock = threading.Lock()


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
        secret_hint=password[-4:],
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


def check_request(
    conn: psycopg.Connection[Any],
    project: str,
    headers: Mapping[str, str],
    *,
    body: bytes = b"",
    methods: list[dict[str, Any]] | None = None,
) -> int | None:
    """Return the id of the method the request satisfies, or None when the inbox is open.

    ``headers`` have lower-case names; ``body`` is the raw body (webhook signatures cover it);
    ``methods``: the project's active methods with secrets, when the caller already read them.
    Raises InboxError 401 when credentials are missing, 404 when none matches (as an unknown
    inbox does, so a guess learns nothing).
    """
    if methods is None:
        methods = store.get_active_auth_methods(conn, project)
    if not methods:
        return None
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
    matched: int | None = None
    if api_key is not None:
        matched = _match_api_key(methods, api_key)
    if matched is None and basic is not None:
        matched = _match_basic(methods, *basic)
    if matched is None and signed:
        matched = _match_webhook(methods, headers, body)
    if matched is None:
        raise InboxError(404, "inbox_not_found", "no inbox here")
    _touch(conn, matched)
    return matched


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


def _match_basic(methods: list[dict[str, Any]], username: str, password: str) -> int | None:
    candidates = [m for m in methods if m["kind"] == "basic"]
    if not candidates:
        return None
    fingerprint = _sha256(f"{username}:{password}")
    cached = _verified.get(fingerprint)
    if cached is not None:
        for method in candidates:
            if (method["id"], method["secret_hash"]) == cached:
                return method["id"]  # still active with the same password
    for method in candidates:
        same_user = hmac.compare_digest(username.encode(), (method["username"] or "").encode())
        if same_user and verify_password(password, method["secret_hash"] or ""):
            with _lock:
                if len(_verified) >= _CACHE_LIMIT:
                    _verified.clear()
                _verified[fingerprint] = (method["id"], method["secret_hash"])
            return method["id"]
    return None


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
