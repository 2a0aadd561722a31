"""Forward a sensor reading (runs: auto, the default: a burst of readings shares DAG runs)."""

from openfn_airflow.runtime import data_value
from openfn_airflow.runtime.adaptors.http import post

operations = [
    post("/readings", {"sensor": data_value("sensor"), "value": data_value("value")}),
]
