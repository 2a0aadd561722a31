"""Send a welcome message for a newly registered patient (runs on register-patient's success)."""

from openfn_airflow.runtime import fn
from openfn_airflow.runtime.adaptors.http import post

operations = [
    post("/welcome", lambda state: {"patient_id": state.get("patient_id")}),
    fn(lambda state: {**state, "welcomed": True}),
]
