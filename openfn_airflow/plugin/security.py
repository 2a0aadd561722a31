"""Who may call the JSON API: Airflow's authentication and auth manager, and no cross-site calls.

Every route under ``/openfn/api/`` depends on ``require_read`` (the caller's ``Permissions``);
state-changing routes add ``require_change``, which refuses cross-site requests, and check the
DAGs of what they touch through ``Permissions``. Authentication is Airflow's: a Bearer JWT or the
UI's ``_token`` cookie (missing: 401, invalid: 403). Authorisation asks the configured auth
manager about those DAGs, so the SimpleAuthManager's roles, FAB permissions (per DAG too) or
Keycloak policies apply as they do to Airflow's own DAG pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status

from openfn_airflow.plugin.permissions import (
    get_permissions,
    refuse_who_may_edit_nothing,
    refuse_who_may_run_nothing,
)

# What a browser says of a request made by a page of this very site, or typed by the user.
_SAME_SITE = ("same-origin", "none")


def refuse_cross_site(request: Request) -> None:
    """Refuse a state-changing request that a page of another site made with the user's cookie.

    A Bearer token passes: browsers never attach an Authorization header on their own, so a
    request carrying one was built by a client holding the token. A cookie-authenticated request
    passes unless ``Sec-Fetch-Site`` says it came from another site (or a sibling subdomain), or
    its ``Origin`` is not this server's. Clients that send neither header are not browsers.
    """
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in _SAME_SITE:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site request refused")
    origin = request.headers.get("origin")
    if origin is not None and not _is_own_origin(origin, request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site request refused")


def _is_own_origin(origin: str, request: Request) -> bool:
    from airflow.configuration import conf

    parts = urlsplit(origin)
    if not parts.netloc:  # "null" (sandboxed frames, file: pages) or garbage
        return False
    if parts.netloc == request.headers.get("host"):
        return True
    # A proxy in front may rewrite Host: the public address is then [api] base_url.
    base = urlsplit(conf.get("api", "base_url", fallback="") or "")
    return bool(base.netloc) and (parts.scheme, parts.netloc) == (base.scheme, base.netloc)


# Every route under /openfn/api/ and /openfn/ui/: an authenticated user who may read some DAG.
# What each route shows or changes is decided from the objects it touches (plugin/permissions.py).
require_read = Depends(get_permissions)
# State-changing routes add one of these; each then asks Permissions about the DAGs its action
# concerns (require_run, require_manage), never about a DAG named by the request. The first
# check only turns away early (403, before the body is validated) a user who may start, or
# change, nothing at all.
require_run = [Depends(refuse_cross_site), Depends(refuse_who_may_run_nothing)]
require_edit = [Depends(refuse_cross_site), Depends(refuse_who_may_edit_nothing)]
