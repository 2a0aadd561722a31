"""``POST /openfn/github/webhook``: GitHub push events deploy the git DAG bundles.

Not behind Airflow's authentication (GitHub cannot log in): every delivery must carry
``X-Hub-Signature-256``, the HMAC-SHA256 of its raw body under the secret kept in the password
of the Airflow connection ``[openfn] github_webhook_conn_id`` (default
``openfn_github_webhook``). Without that connection the route answers 404 and does nothing.

- ``ping`` -> 200; any other event but ``push`` -> 202, ignored.
- ``push`` to a branch a git bundle tracks -> the commit is checked against the fetched
  repository (it must be on the branch, else 422), recorded as the bundle's deployment, and the
  dag-processor is asked to refresh the bundle now -> 202 with what was done.
- ``?bundle=<name>`` limits the delivery to one bundle.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from openfn_airflow.bundles.pushes import deploy_push
from openfn_airflow.bundles.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    BadPayload,
    decode_payload,
    parse_push,
    signature_matches,
)
from openfn_airflow.inbox import settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["github"])

# GitHub caps webhook payloads at 25 MB.
MAX_BODY_BYTES = 25 * 1024 * 1024


async def _raw_body(request: Request) -> bytes | None:
    """The raw body (the signature is over its exact bytes), or None when over the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


RawBody = Annotated[bytes | None, Depends(_raw_body)]


def _webhook_secret(conn_id: str) -> str | None:
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        connection = Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        return None
    return connection.password or None


def _error(status_code: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status_code)


@router.post("/github/webhook", status_code=202)
def github_webhook(
    request: Request,
    raw: RawBody,
    bundle: Annotated[str | None, Query(description="deploy to this bundle only")] = None,
) -> JSONResponse:
    """Take a signed GitHub push event and refresh the git DAG bundles tracking its branch."""
    conn_id = settings.github_webhook_conn_id()
    secret = _webhook_secret(conn_id)
    if secret is None:
        return _error(
            404,
            "not_configured",
            f"the GitHub webhook is not configured: create the Airflow connection {conn_id!r} "
            "with the webhook's secret as its password ([openfn] github_webhook_conn_id)",
        )
    if raw is None:
        return _error(413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    if not signature_matches(secret, raw, request.headers.get(SIGNATURE_HEADER)):
        log.warning("GitHub webhook delivery refused: missing or wrong %s", SIGNATURE_HEADER)
        return _error(
            401,
            "invalid_signature",
            f"{SIGNATURE_HEADER} is missing or is not the HMAC-SHA256 of the body under the "
            "webhook's secret",
        )
    event = request.headers.get(EVENT_HEADER, "")
    delivery = request.headers.get(DELIVERY_HEADER)
    if event == "ping":
        return JSONResponse({"event": "ping", "message": "pong"}, status_code=200)
    if event != "push":
        return JSONResponse({"event": event, "ignored": "only push events deploy"}, status_code=202)
    try:
        push = parse_push(decode_payload(raw, request.headers.get("content-type")))
    except BadPayload as exc:
        return _error(400, "bad_payload", str(exc))
    outcome = deploy_push(push, delivery=delivery, only=bundle)
    if delivery:
        outcome.body.setdefault("delivery", delivery)
    return JSONResponse(outcome.body, status_code=outcome.status_code)
