from openfn_airflow.runtime import fn


def check(state):
    if state["data"].get("fail"):
        raise ValueError(f"reading {state['data'].get('n')} is bad")
    print("reading", state["data"].get("n"))
    return {**state, "stored": state["data"].get("n")}


operations = [fn(check)]
