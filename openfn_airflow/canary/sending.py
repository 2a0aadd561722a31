"""What the canary's send job does: POST one canary message to the project's own inbox.

The inbox URL is looked up in the registry (the id the api-server generated for this
installation) and never printed: the run's log is shown to everyone who may read the job.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx

#: Seconds the inbox has to answer; the job's own timeout (60 s) is behind it.
POST_TIMEOUT_SECONDS = 30.0


def canary_body(sent_at: dt.datetime | None = None) -> dict[str, Any]:
    """The body of a canary message (what the receive job's trigger matches)."""
    sent_at = sent_at or dt.datetime.now(dt.UTC)
    return {"openfn_canary": {"sent_at": sent_at.isoformat()}}


def inbox_id() -> str:
    """The canary project's inbox id; RuntimeError while the api-server has not registered it."""
    from openfn_airflow.canary import PROJECT
    from openfn_airflow.store.database import connect
    from openfn_airflow.store.projects import get_project

    with connect() as conn:
        project = get_project(conn, PROJECT)
    if project is None:
        raise RuntimeError(
            f"the {PROJECT} project has no inbox yet: an api-server with [openfn] canary on "
            "registers it within 10 s of its start"
        )
    return str(project["inbox_id"])


def send_canary_message(state: dict[str, Any]) -> dict[str, Any]:
    """Operation: POST a canary message; fail unless the inbox stored it and it matched."""
    from openfn_airflow.canary import inbox_base_url

    base, secret = inbox_base_url(), inbox_id()
    body = canary_body()
    started = time.monotonic()
    try:
        answer = httpx.post(
            f"{base}/openfn/inbox/{secret}", json=body, timeout=POST_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        problem = f"{type(exc).__name__}: {exc}".replace(secret, "<inbox id>")
        raise RuntimeError(f"the canary message could not be sent to {base}: {problem}") from None
    took = round((time.monotonic() - started) * 1000)
    if answer.status_code != 202:
        raise RuntimeError(
            f"the inbox answered {answer.status_code} to the canary message "
            f"(after {took} ms): {answer.text[:200].replace(secret, '<inbox id>')}"
        )
    receipt = answer.json()
    if not receipt.get("matched"):
        raise RuntimeError(
            f"canary message {receipt.get('message_id')} matched no trigger: is the "
            "canary-message trigger registered?"
        )
    print(f"canary message {receipt['message_id']} stored by the inbox in {took} ms")
    return {
        "data": {},
        "references": [],
        "message_id": receipt["message_id"],
        "sent_at": body["openfn_canary"]["sent_at"],
    }
