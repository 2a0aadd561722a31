"""Render the pages: one Jinja2 environment, the context every page shares, display filters."""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from openfn_airflow.plugin.ui.access import Access
from openfn_airflow.plugin.ui.times import display_zone, format_time

UI_PACKAGE = "openfn_airflow.plugin.ui"
# The pages load only their own script, stylesheet and icons, call only this origin (the JSON
# API and Airflow's REST API) and are framed only by Airflow's UI: an injected script, event
# handler or style attribute would not run, and no other site can frame a page to click it.
# The templates hold no inline script or style, so none needs allowing.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    )
)


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(UI_PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_time
    env.filters["pretty_json"] = pretty_json
    env.filters["script_json"] = script_json
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.filters["filesize"] = filesize
    return env


@functools.cache
def static_version() -> str:
    """A digest of the static files, appended to their URLs so browsers refetch after upgrades."""
    digest = hashlib.sha256()
    for entry in sorted(resources.files(UI_PACKAGE).joinpath("static").iterdir(), key=str):
        digest.update(entry.read_bytes())
    return digest.hexdigest()[:12]


def filesize(size: int) -> str:
    """``512 B``, ``5.6 KB``, ``3.2 MB`` (powers of 1,024)."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` breaks out)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def urls(request: Request) -> dict[str, str]:
    """Where things are, as seen by this request: the plugin's root and Airflow's UI root."""
    plugin_root = str(request.scope.get("root_path", "")).rstrip("/")  # ".../openfn"
    airflow_root = plugin_root.rsplit("/", 1)[0] if plugin_root else ""
    return {
        "ui": f"{plugin_root}/ui",
        "api": f"{plugin_root}/api/v1",
        "static": f"{plugin_root}/ui/static",
        "airflow": airflow_root,
    }


def render(
    request: Request, template: str, access: Access, status_code: int = 200, **context: Any
) -> HTMLResponse:
    page = (
        environment()
        .get_template(template)
        .render(
            request=request,
            urls=urls(request),
            access=access,
            version=static_version(),
            zone=display_zone(),
            **context,
        )
    )
    return HTMLResponse(
        page,
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Content-Security-Policy": CONTENT_SECURITY_POLICY},
    )


def error_page(request: Request, access: Access, screen: str, refused: Any) -> HTMLResponse:
    """The screen's page for a refusal of the JSON API (an HTTPException): its status and detail."""
    return render(
        request,
        "error.html",
        access,
        screen=screen,
        status_code=refused.status_code,
        message=str(refused.detail),
    )
