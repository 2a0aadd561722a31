"""Run on a canary message: it arrived through the inbox, the dispatcher and the scheduler."""

from openfn_airflow.runtime import fn


def _received(state):
    sent_at = (state.get("data") or {}).get("openfn_canary", {}).get("sent_at")
    print(f"canary message sent at {sent_at} received")
    return {"data": {}, "references": []}


operations = [fn(_received)]
