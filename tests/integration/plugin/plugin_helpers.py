"""What the plugin tests share besides fixtures: paths, and rows set up in SQL."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

API = "/openfn/api/v1"


def unreachable_database_url() -> str:
    """A PostgreSQL URL nothing listens at (a port just freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/nothing?connect_timeout=2"


def received(conn: Any, message_id: int, at: dt.datetime) -> None:
    """Pretend a message arrived at ``at``."""
    conn.execute("UPDATE openfn_message SET received_at = %s WHERE id = %s", [at, message_id])


def created(conn: Any, run_id: int, at: dt.datetime) -> None:
    """Pretend a run was created at ``at``."""
    conn.execute("UPDATE openfn_run SET created_at = %s WHERE id = %s", [at, run_id])


def ago(**delta: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(**delta)


def token_for(app: Any, username: str) -> str:
    """A JWT for a user of the tests' ``simple_auth_manager_users``, as ``POST /auth/token`` gives."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    role = {"admin": "admin", "editor": "user", "viewer": "viewer"}[username]
    return app.state.auth_manager.generate_jwt(SimpleAuthManagerUser(username=username, role=role))
