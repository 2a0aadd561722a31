"""The Airflow plugin declaration: what openfn-airflow adds to Airflow's api-server and UI.

Registered once, through the ``airflow.plugins`` entry point of the package (not the plugins
folder). It does no work at import time; the inbox, API and views arrive with later issues.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class OpenFnPlugin(AirflowPlugin):
    name = "openfn"
