from openfn_airflow.runtime import fn

# PostgreSQL's jsonb cannot hold a NUL character: the final state cannot be saved.
operations = [fn(lambda state: {**state, "text": "a\u0000b"})]
