"""HTTP adaptor, after OpenFn's language-http: ``get``, ``post``, ``put``, ``patch``, ``delete``.

The credential is ``state["configuration"]``: ``baseUrl`` (or ``base_url``) for relative paths,
``access_token`` (or ``token``) for a Bearer header, else ``username`` + ``password`` for Basic.
Auth headers go only to URLs under the base URL. Each request is logged as one line
(``HTTP GET https://x/y -> 200 (12 ms)``), never with its headers. In test mode nothing is sent:
the request is logged and answered 200 ``{}``.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from ..references import expand
from ..run_context import RunContext, current_run
from ..state import Operation, State, compose_next_state

DEFAULT_TIMEOUT = 300.0
CONTENT_TYPES = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "string": "text/plain; charset=utf-8",
    "xml": "application/xml",
}
PARSE_AS = ("json", "text")
_EXCERPT = 200


class HTTPError(Exception):
    """A request failed: an error status, a timeout or a connection problem."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.status_code = status_code
        self.body = body


def request(
    method: str,
    path: Any,
    *,
    body: Any = None,
    query: Any = None,
    headers: Any = None,
    content_type: str = "json",
    parse_as: str = "json",
    errors: Any = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Operation:
    """Return an operation sending one HTTP request; the parsed response body becomes ``data``.

    ``path``, ``body``, ``query``, ``headers`` and ``errors`` may be lazy (functions of state).
    ``errors``: a status -> message dict (a message of False accepts that status), or False to
    accept every status; by default a status >= 400 raises ``HTTPError``. ``timeout`` is in
    seconds. The next state is ``compose_next_state(state, body)`` plus ``response`` (status
    code, headers, method, url, duration in ms).
    """
    method = method.upper()
    if content_type not in CONTENT_TYPES:
        raise ValueError(
            f"content_type must be one of {', '.join(CONTENT_TYPES)}, got {content_type!r}"
        )
    if parse_as not in PARSE_AS:
        raise ValueError(f"parse_as must be one of {', '.join(PARSE_AS)}, got {parse_as!r}")

    def send(state: State) -> State:
        run = current_run()
        if run.cancelled:
            raise RuntimeError(f"{method} not sent: the run has already timed out")
        configuration = state.get("configuration") or {}
        url = _absolute_url(expand(path, state), configuration)
        url = str(httpx.URL(url).copy_merge_params(_query(expand(query, state))))
        request_headers = {
            str(k): str(v) for k, v in (expand(headers, state) or {}).items() if v is not None
        }
        if _is_under(url, _base_url(configuration)):
            _add_auth(request_headers, configuration)
        content = _encode(expand(body, state), content_type, request_headers)
        if run.test_mode:
            response, duration = _pretend(run, method, url, content), 0
        else:
            response, duration = _send(run, method, url, request_headers, content, timeout)
        _check_status(expand(errors, state), response, method, url)
        return {
            **compose_next_state(state, _parse(response, parse_as)),
            "response": {
                "status_code": response.status_code,
                "headers": dict(response.headers),
                "method": method,
                "url": url,
                "duration": duration,
            },
        }

    label = path if isinstance(path, str) else getattr(path, "__name__", "<lazy url>")
    send.__name__ = send.__qualname__ = f"{method} {label}"
    return send


def get(path: Any, **options: Any) -> Operation:
    """Return an operation sending a GET request (see ``request`` for options)."""
    return request("GET", path, **options)


def post(path: Any, body: Any = None, **options: Any) -> Operation:
    """Return an operation sending a POST request with ``body`` (JSON unless told otherwise)."""
    return request("POST", path, body=body, **options)


def put(path: Any, body: Any = None, **options: Any) -> Operation:
    """Return an operation sending a PUT request with ``body``."""
    return request("PUT", path, body=body, **options)


def patch(path: Any, body: Any = None, **options: Any) -> Operation:
    """Return an operation sending a PATCH request with ``body``."""
    return request("PATCH", path, body=body, **options)


def delete(path: Any, **options: Any) -> Operation:
    """Return an operation sending a DELETE request."""
    return request("DELETE", path, **options)


del_ = delete


def _base_url(configuration: dict[str, Any]) -> str | None:
    return configuration.get("baseUrl") or configuration.get("base_url") or None


def _absolute_url(path: Any, configuration: dict[str, Any]) -> str:
    base = _base_url(configuration)
    if path is None or path == "":
        if base:
            return str(base)
        raise ValueError("no URL given: pass a URL, or a path and a baseUrl in the credential")
    path = str(path)
    if path.lower().startswith(("http://", "https://")):
        return path
    if not base:
        raise ValueError(
            f"relative URL {path!r} needs a base URL: set baseUrl (or base_url) in the"
            " credential, or use an absolute URL like https://example.com/api" + path
        )
    return f"{str(base).rstrip('/')}/{path.lstrip('/')}"


def _is_under(url: str, base: str | None) -> bool:
    # Scheme, host and port must match and the path must sit below the base path: a plain
    # prefix test would send the credential to https://api.example.com.evil.org.
    if not base:
        return False
    target, root = urlsplit(url), urlsplit(str(base))
    if (target.scheme.lower(), target.hostname, _port(target)) != (
        root.scheme.lower(),
        root.hostname,
        _port(root),
    ):
        return False
    prefix = root.path.rstrip("/")
    return not prefix or target.path == prefix or target.path.startswith(prefix + "/")


def _port(parts: Any) -> int | None:
    return parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())


def _add_auth(headers: dict[str, str], configuration: dict[str, Any]) -> None:
    if any(k.lower() == "authorization" for k in headers):
        return
    token = configuration.get("access_token") or configuration.get("token")
    username, password = configuration.get("username"), configuration.get("password")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif username and password:
        pair = base64.b64encode(f"{username}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"


def _query(query: Any) -> dict[str, Any]:
    if not query:
        return {}
    return {str(k): v for k, v in dict(query).items() if v is not None}


def _encode(body: Any, content_type: str, headers: dict[str, str]) -> bytes | None:
    if body is None:
        return None
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = CONTENT_TYPES[content_type]
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if content_type == "json":
        return json.dumps(body, separators=(",", ":"), default=str, ensure_ascii=False).encode()
    if content_type == "form":
        pairs = body.items() if isinstance(body, dict) else body
        return urlencode([(k, v) for k, v in pairs if v is not None], doseq=True).encode()
    return str(body).encode()


def _pretend(run: RunContext, method: str, url: str, content: bytes | None) -> httpx.Response:
    shown = "" if content is None else " " + _excerpt(content.decode("utf-8", "replace"), 1000)
    run.console.runtime(f"TEST MODE: {method} {url}{shown} (not sent)")
    return httpx.Response(200, json={}, request=httpx.Request(method, url))


def _send(
    run: RunContext,
    method: str,
    url: str,
    headers: dict[str, str],
    content: bytes | None,
    timeout: float | None,
) -> tuple[httpx.Response, int]:
    """Send the request; return the response and how long it took in milliseconds."""
    started = time.perf_counter()
    try:
        response = _client(run).request(
            method, url, headers=headers, content=content, timeout=timeout
        )
    except httpx.TimeoutException as error:
        elapsed = _ms(started)
        run.console.runtime(f"HTTP {method} {url} -> timed out ({elapsed} ms)")
        raise HTTPError(
            f"{method} {url} timed out after {timeout:g} s", method=method, url=url
        ) from error
    except httpx.HTTPError as error:
        elapsed = _ms(started)
        run.console.runtime(f"HTTP {method} {url} -> failed: {type(error).__name__} ({elapsed} ms)")
        raise HTTPError(
            f"{method} {url} failed: {type(error).__name__}: {error}", method=method, url=url
        ) from error
    elapsed = _ms(started)
    run.console.runtime(f"HTTP {method} {url} -> {response.status_code} ({elapsed} ms)")
    return response, elapsed


def _check_status(errors: Any, response: httpx.Response, method: str, url: str) -> None:
    if errors is False:
        return
    status = response.status_code
    message: Any = None
    if isinstance(errors, dict):
        message = errors.get(status, errors.get(str(status)))
        if message is False:
            return
    if message is None and status < 400:
        return
    text = _excerpt(response.text, _EXCERPT)
    summary = f"{method} {url} -> {status} {response.reason_phrase}".rstrip()
    if isinstance(message, str):
        full = f"{message} ({summary})"
    else:
        full = f"{summary}: {text}" if text else summary
    raise HTTPError(full, method=method, url=url, status_code=status, body=_parse(response, "json"))


def _parse(response: httpx.Response, parse_as: str) -> Any:
    if parse_as == "text":
        return response.text
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:  # not JSON after all: keep the text rather than fail the job
        return response.text


def _excerpt(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


_shared_clients: dict[int, httpx.Client] = {}
_clients_lock = threading.Lock()


def _client(run: RunContext) -> httpx.Client:
    # One pooled client per process for the real network (keep-alive across runs), one per
    # run for an injected transport. Cookies are never stored: runs must not share sessions.
    if run.transport is not None:
        client = run.resources.get("http")
        if client is None:
            client = run.resources["http"] = _new_client(run.transport)
        return client
    pid = os.getpid()  # a client inherited through fork() would share sockets with the parent
    client = _shared_clients.get(pid)
    if client is None:
        with _clients_lock:
            client = _shared_clients.get(pid)
            if client is None:
                client = _shared_clients[pid] = _new_client(None)
    return client


def _new_client(transport: httpx.BaseTransport | None) -> httpx.Client:
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(transport=transport, follow_redirects=True, max_redirects=5, cookies=jar)
