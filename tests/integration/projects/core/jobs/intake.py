from openfn_airflow.runtime import data_value, fn
from openfn_airflow.runtime.adaptors.http import post

operations = [
    fn(lambda state: print("intake of", state["data"].get("name")) or state),
    post("/patients", {"name": data_value("name"), "invalid": data_value("invalid")}),
    fn(lambda state: {**state, "patient_id": state["data"]["id"]}),
]
