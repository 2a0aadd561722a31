"""The Airflow plugin declaration: what openfn-airflow adds to Airflow's api-server and UI.

Registered once, through the ``airflow.plugins`` entry point of the package (not the plugins
folder). Every Airflow process imports this module when it loads plugins (the scheduler, the
dag-processor, workers), so it imports nothing heavy and builds nothing: the FastAPI app is built
the first time the api-server asks for ``fastapi_apps``.
"""

from __future__ import annotations

import functools
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from openfn_airflow.dags.preload import TaskModulesPreload

URL_PREFIX = "/openfn"
UI = f"{URL_PREFIX}/ui"

# Airflow's UI shows each view in an iframe at /plugin/<url_route>, keeping the iframe's own path
# in its address bar, so a filtered list or a message can be bookmarked and shared.
EXTERNAL_VIEWS: list[dict[str, Any]] = [
    {
        "name": "OpenFn",
        "href": f"{UI}/inbox",
        "destination": "nav",
        "url_route": "openfn",
        "nav_top_level": True,
        "icon": f"{UI}/static/openfn.svg",
        "icon_dark_mode": f"{UI}/static/openfn-dark.svg",
    },
    {
        "name": "OpenFn runs",
        "href": f"{UI}/dag-runs/{{DAG_ID}}/{{RUN_ID}}",
        "destination": "dag_run",
        "url_route": "openfn-dag-run",
        "icon": f"{UI}/static/openfn.svg",
        "icon_dark_mode": f"{UI}/static/openfn-dark.svg",
    },
]


@functools.cache
def _fastapi_apps() -> list[dict[str, Any]]:
    from openfn_airflow.plugin.app import create_app

    return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "OpenFn"}]


class _LazyFastAPIApps:
    """A class attribute that builds the app on first read (``plugins_manager.get_fastapi_plugins``)."""

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        return _fastapi_apps()


class OpenFnPlugin(AirflowPlugin):
    name = "openfn"
    fastapi_apps = _LazyFastAPIApps()  # type: ignore[assignment]
    external_views = EXTERNAL_VIEWS
    # Imports a job task's modules where task processes are forked from (dags/preload.py).
    listeners = [TaskModulesPreload()]
