"""Airflow DAG file: shows every problem of the OpenFn project specs as a DAG import error.

It defines no DAG; the valid jobs are built by openfn_jobs.py.
"""

from pathlib import Path

from openfn_airflow.dags.loader import check_specs

check_specs(Path(__file__).parent)
