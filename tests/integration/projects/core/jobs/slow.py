import time

from openfn_airflow.runtime import fn


def nap(state):
    print("going to sleep")
    time.sleep(30)
    return state


operations = [fn(nap)]
