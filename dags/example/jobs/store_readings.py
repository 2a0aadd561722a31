"""Forward a sensor reading (batched: one DAG run handles every reading it consumed)."""

from openfn_airflow.runtime import data_value
from openfn_airflow.runtime.adaptors.http import post

operations = [
    post("/readings", {"sensor": data_value("sensor"), "value": data_value("value")}),
]
