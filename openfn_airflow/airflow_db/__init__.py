"""Airflow's own metadata tables: every read and write of them by this project, in one place.

Airflow's tables are not an interface: an Airflow upgrade may change them (3.3 added the
partition tables this project writes). So whatever reads or writes them itself, by SQL or by
SQLAlchemy on Airflow's models, or calls a private Airflow function, is here, and nowhere else
(``tests/unit/test_airflow_db_boundary.py`` fails on any other module or SQL file that does):

- ``assets``: the trigger asset's events, per message in bulk (the rows Airflow's
  ``register_asset_change`` writes, with its private ``_lock_asset_model``) or through
  ``register_asset_change`` itself; the asset and the DAGs listening to it;
- ``dag_runs``: the DAG runs of a job waiting to start or running, and partition DAG runs not
  created yet (``asset_partition_dag_run``), for ``runs: auto``'s threshold and the Projects screen;
- ``dags``: which job DAGs Airflow runs and which are paused (``dag``);
- ``bundles``: a bundle's refresh requested now (``dag_priority_parsing_request``,
  ``dag_bundle``) and the version each bundle was parsed at;
- ``pools``, ``variables``: the projects' pools sized (``slot_pool``), a variable read as stored;
- ``asset_history``, ``cleanup``: retention of Airflow's asset tables and of its own history
  (``airflow db clean``'s ``run_cleanup``), with the vacuum after a large delete;
- ``sql/*.sql``: the named SQL blocks that read or write Airflow's tables (``dag``, ``dag_run``,
  ``asset_event``, ``dagrun_asset_event``, the audit ``log``), most of them beside this project's
  own tables; they load with the store's (``store.queries``) and run by name like them.

Calls to Airflow's public methods that do their own reading (``DagModel.get_current``,
``dag.create_dagrun``, ``Variable.set``, ``Pool.create_or_update_pool``,
``Connection.get_connection_from_secrets``) stay where they are used. Contract tests against the
installed Airflow: ``tests/integration/inbox/test_airflow_contract.py`` (our per-message events
leave the rows ``register_asset_change`` leaves) and ``tests/integration/maintenance``.
Outside this package, one migration of ours (``store/migrations`` 0006) adds an index to
``asset_partition_dag_run``.
"""
