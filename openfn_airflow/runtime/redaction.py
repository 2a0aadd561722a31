"""Keep credentials out of logs: every string in a run's configuration is shown as ``***``.

Except the base URL: it says where a request went, which a log needs, and it is not a secret.
A base URL holding credentials (``https://user:pass@host``) is still hidden whole.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 4
PUBLIC_KEYS = frozenset({"baseUrl", "base_url"})


def secret_values(configuration: Any) -> list[str]:
    """Return every string of ``configuration`` (recursively) long enough to be worth hiding.

    The forms a secret takes on the way to a log are included too: JSON-escaped, URL-encoded,
    each line of a multi-line secret (PEM keys), and the Basic auth token of username+password.
    """
    found: set[str] = set()
    for value in _strings(configuration):
        for form in (value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value)):
            found.add(form)
        found.update(line.strip() for line in value.splitlines())
    if isinstance(configuration, dict):
        username, password = configuration.get("username"), configuration.get("password")
        if isinstance(username, str) and isinstance(password, str):
            found.add(base64.b64encode(f"{username}:{password}".encode()).decode())
    return sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def masker(secrets: list[str]) -> Callable[[str], str]:
    """Return a function replacing every occurrence of the secrets in a text by ``***``."""
    if not secrets:
        return _unchanged
    # Longest first, so a secret containing another is hidden whole.
    pattern = re.compile("|".join(re.escape(s) for s in secrets))
    return lambda text: pattern.sub(MASK, text)


def redact(value: Any, mask: Callable[[str], str]) -> Any:
    """Return a JSON value with ``mask`` applied to every string in it, keys included.

    For what is stored or handed on (a run's states): a job may copy a secret anywhere, under
    any key, inside a longer string. The value is returned as is (not copied) when its JSON
    text shows no secret, the common case; otherwise a copy, the caller's value unchanged.
    Two keys that become equal once masked keep the later one's value.
    """
    if mask is _unchanged:
        return value
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return _redacted(value, mask)
    # The JSON-escaped form of every secret is among the secrets: a miss here is a miss below.
    return value if mask(text) == text else _redacted(value, mask)


def _redacted(value: Any, mask: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {
            (mask(key) if isinstance(key, str) else key): _redacted(item, mask)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redacted(item, mask) for item in value]
    return value


def _unchanged(text: str) -> str:
    return text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in PUBLIC_KEYS and isinstance(item, str) and "@" not in item:
                continue
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
