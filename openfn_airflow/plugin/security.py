"""Who may call the JSON API: Airflow's authentication and auth manager, and no cross-site calls.

Every route under ``/openfn/api/`` depends on ``require_read``; state-changing routes add
``require_run`` (they start runs) or ``require_edit`` (they change stored data), which also refuse
cross-site requests. Authentication is Airflow's: a Bearer JWT or the UI's ``_token`` cookie
(missing: 401, invalid: 403). Authorisation asks the configured auth manager about DAG access,
so the SimpleAuthManager's roles, FAB permissions or Keycloak policies apply as they do to
Airflow's own DAG pages: viewers read; users (and up) reprocess, retry and edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, HTTPException, Request, status

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


require_read = Depends(requires_access_dag("GET"))
require_run = [
    Depends(refuse_cross_site),
    Depends(requires_access_dag("POST", DagAccessEntity.RUN)),
]
require_edit = [Depends(refuse_cross_site), Depends(requires_access_dag("PUT"))]


def forbidden_dag_runs(user: BaseUser, dag_ids: Iterable[str]) -> list[str]:
    """Return the DAGs of ``dag_ids`` the user may NOT start runs of (empty: all allowed)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.models.dag import DagModel

    manager = get_auth_manager()
    return [
        dag_id
        for dag_id in sorted(set(dag_ids))
        if not manager.is_authorized_dag(
            method="POST",
            access_entity=DagAccessEntity.RUN,
            details=DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id)),
            user=user,
        )
    ]


def may_edit(user: BaseUser) -> bool:
    """Whether the user may change DAGs in general (what edit access to a project means here)."""
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().is_authorized_dag(method="PUT", user=user)
