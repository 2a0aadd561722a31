from openfn_airflow.runtime import fn


def chatty(state):
    print("SECRET-CHATTER the password is", state["configuration"]["password"])
    return {**state, "done": True}


operations = [fn(chatty)]
