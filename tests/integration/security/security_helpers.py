"""What the security tests share besides fixtures: paths, bad inputs, and what was stored."""

from __future__ import annotations

from typing import Any

API = "/openfn/api/v1"
PROJECT = "security"
INBOX_ID = "3a6f1c0e-2b4d-4e8f-9a1b-7c5d3e2f1a09"
INBOX = f"/openfn/inbox/{INBOX_ID}"
ROLES = {"admin": "admin", "editor": "user", "viewer": "viewer"}

# Strings that would change a query if any filter reached SQL, LIKE or tsquery syntax as text.
SQLISH = [
    "' OR 1=1 --",
    "'; DROP TABLE openfn_message; --",
    '" OR ""="',
    "%",
    "_",
    "%_%",
    "\\",
    "\\\\'",
    "a\\",
    ":*",
    "a:*",
    "&|!",
    "!(a | b) & c:*",
    "<->",
    "a <-> b",
    "'a':* & 'b'",
    "(((",
    ")",
    "''",
    "$1",
    "%(text)s",
    "{}",
    "[]",
    "NULL",
    "ü\u200b\U0001f600",
]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def token(app: Any, user: str) -> str:
    """A JWT for one of the test users, as ``POST /auth/token`` gives after the password check."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return app.state.auth_manager.generate_jwt(
        SimpleAuthManagerUser(username=user, role=ROLES[user])
    )


def count(conn: Any, table: str, project: str | None = PROJECT) -> int:
    """Rows of one of our tables (the name is ours, never input), of ``project`` when given."""
    if project is None:
        row = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()
    else:
        row = conn.execute(
            f"SELECT count(*) AS n FROM {table} WHERE project = %s", [project]
        ).fetchone()
    return int(row["n"])


def stored_nothing(conn: Any) -> None:
    """Assert that no message, file, dispatch, version or run exists (the tables are empty)."""
    for table in (
        "openfn_message",
        "openfn_attachment",
        "openfn_dispatch",
        "openfn_message_version",
        "openfn_run",
    ):
        assert count(conn, table, None) == 0, table


def add_message(conn: Any, body: Any, **fields: Any) -> int:
    """Insert a message of the project directly (as the inbox stores one); return its id."""
    from openfn_airflow.store import messages

    return messages.insert_message(
        conn,
        project=fields.pop("project", PROJECT),
        body=body,
        headers=fields.pop("headers", {"content-type": "application/json"}),
        method=fields.pop("method", "POST"),
        path=fields.pop("path", INBOX),
        **fields,
    )


def add_run(conn: Any, **fields: Any) -> int:
    """Insert a finished run of the project's job; return its id."""
    from openfn_airflow.store import runs

    log = fields.pop("log", "")
    status = fields.pop("status", "failed")
    run_id = runs.start_run(
        conn,
        project=fields.pop("project", PROJECT),
        job=fields.pop("job", "intake"),
        trigger=fields.pop("trigger", "message"),
        initial_state=fields.pop("initial_state", {"data": {}, "references": []}),
        **fields,
    )
    runs.finish_run(
        conn,
        run_id,
        status=status,
        exit_code=0 if status == "success" else 1,
        log=log,
        final_state={},
    )
    return run_id


class RawResponse:
    """What the app sent back to a raw ASGI request."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.raw_headers = headers
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
        self.content = body
        self.text = body.decode("utf-8", "replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content)


def raw_request(
    app: Any,
    method: str,
    path: str,
    *,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
) -> RawResponse:
    """Send one request to the ASGI app exactly as given: header bytes, path and query untouched.

    A test client re-encodes header values (httpx decodes them as latin-1, then Starlette's
    client encodes them as UTF-8); an HTTP server hands the app the bytes that came in.
    """
    import asyncio

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if chunks:
            return chunks.pop()
        await asyncio.sleep(3600)  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return RawResponse(start["status"], list(start.get("headers", [])), content)
