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
