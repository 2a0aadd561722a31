from openfn_airflow.runtime.adaptors.http import post

operations = [post("/patients", {"name": "dry run"})]
