"""Retention (activity cleaning): the maintenance DAG ``openfn__maintenance``.

Once a day it deletes each project's messages and runs past the periods of its spec
(``retention: {messages: 90d, runs: 30d}``) and keeps Airflow's own tables bounded: the history
``airflow db clean`` removes, and the asset event and partition tables Airflow never prunes.
"""
