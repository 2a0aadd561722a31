"""Register the patient of a form submission in the destination system."""

from openfn_airflow.runtime import data_value, field, fields, fn
from openfn_airflow.runtime.adaptors.http import post

operations = [
    post(
        "/patients",
        fields(
            field("name", data_value("name")),
            field("age", data_value("age")),
            field("invalid", data_value("invalid")),
        ),
    ),
    fn(lambda state: {**state, "patient_id": state["data"]["id"]}),
]
