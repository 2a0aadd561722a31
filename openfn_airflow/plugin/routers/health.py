"""``GET /openfn/health``: the canary's last round trip and whether the database answers.

Public, like Airflow's ``/api/v2/monitor/health``: uptime monitors probe it without an Airflow
login. It tells only the canary project's own timings, status and message id.
"""

from __future__ import annotations

import contextlib
import logging

from fastapi import APIRouter, Response, status

from openfn_airflow.canary import health
from openfn_airflow.plugin.deps import get_conn
from openfn_airflow.plugin.models.health import Health
from openfn_airflow.store.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    responses={
        503: {
            "model": Health,
            "description": "The canary is late or failing, or the database does not answer.",
        }
    },
)
def get_health(response: Response) -> Health:
    """Report the canary's last round trip (ms) and whether the database answers; 503 when unhealthy."""
    try:
        with contextlib.contextmanager(get_conn)() as conn:
            answer = health.check(conn)
    except DatabaseUnavailable as exc:
        log.warning("Health check: the database is unavailable: %s", exc)
        answer = health.check(None)
    response.headers["Cache-Control"] = "no-store"
    if not health.is_healthy(answer):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health.model_validate(answer)
