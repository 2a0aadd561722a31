"""Raise an alert when a registration fails (runs on register-patient's failure)."""

from openfn_airflow.runtime import fn
from openfn_airflow.runtime.adaptors.http import post


def _report(state):
    print("registration failed for", state.get("data"))
    return state


operations = [
    fn(_report),
    post(
        "/alerts", lambda state: {"error": state.get("error", "")[-500:], "form": state.get("data")}
    ),
]
