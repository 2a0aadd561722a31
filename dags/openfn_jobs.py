"""Airflow DAG file: one DAG per OpenFn job of every project.yaml under this folder."""

from pathlib import Path

from openfn_airflow.dags.loader import load_dags

load_dags(Path(__file__).parent, globals())
