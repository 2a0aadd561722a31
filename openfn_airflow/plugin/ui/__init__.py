"""OpenFn's screens inside Airflow's UI: server-rendered pages under ``/openfn/ui/``.

Airflow's UI shows them in an iframe (an ``external_views`` entry of the plugin); they read
through the same route functions as the JSON API and change things by calling the JSON API
from small hand-written scripts, so authorisation and cross-site protection are the API's.
"""
