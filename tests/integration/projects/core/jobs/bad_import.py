from openfn_airflow.runtime import no_such_helper

operations = [no_such_helper()]
