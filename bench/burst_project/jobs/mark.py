"""The bench's trivial job: add one key to the state (the plain DAG does the same work)."""

from openfn_airflow.runtime import fn


def mark(state):
    return {**state, "seen": True}


operations = [fn(mark)]
