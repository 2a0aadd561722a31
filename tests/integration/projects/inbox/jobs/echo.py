from openfn_airflow.runtime import fn

operations = [fn(lambda state: {**state, "echoed": True})]
