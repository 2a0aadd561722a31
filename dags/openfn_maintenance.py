"""Airflow DAG file: the daily OpenFn maintenance DAG (retention of messages, runs and Airflow's
history), built from the retention of every project.yaml under this folder."""

from pathlib import Path

from openfn_airflow.maintenance.dag import load_maintenance_dag

load_maintenance_dag(Path(__file__).parent, globals())
