"""Pull the cases updated since the last successful run (the cursor) every five minutes."""

from openfn_airflow.runtime import fn
from openfn_airflow.runtime.adaptors.http import get


def _advance_cursor(state):
    items = state["data"]["items"]
    latest = max((case["updated_at"] for case in items), default=state.get("cursor"))
    print(f"synced {len(items)} case(s)")
    return {**state, "cursor": latest, "synced": len(items), "references": []}


operations = [
    get("/cases", query={"since": lambda state: state.get("cursor") or ""}),
    fn(_advance_cursor),
]
