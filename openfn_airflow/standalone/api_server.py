"""Talk to the api-server while it starts: its health, and warming the execution API."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

HEALTH_PATH = "/api/v2/monitor/health"
# The execution API (Cadwyn) builds its versioned routers on the first request to /execution/
# and blocks the worker for 8-10 s meanwhile: pay that before the first task does.
WARM_PATH = "/execution/health"
COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def free_port(preferred: int) -> int:
    """``preferred`` when nothing listens there, else a port the system says is free now."""
    if not port_in_use(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def get_json(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """GET ``url``: (status, parsed JSON or None); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def unhealthy(health: Any, components: Sequence[str] = COMPONENTS) -> list[str]:
    """Those of ``components`` not (yet) healthy in a ``/api/v2/monitor/health`` answer."""
    if not isinstance(health, dict):
        return list(components)
    waiting = []
    for name in components:
        info = health.get(name)
        if (info or {}).get("status") != "healthy":
            waiting.append(name)
    return waiting
