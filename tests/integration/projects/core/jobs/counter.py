from openfn_airflow.runtime import fn

operations = [fn(lambda state: {**state, "count": state.get("count", 0) + 1})]
