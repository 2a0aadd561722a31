-- Migration 0006: an index Airflow's asset_partition_dag_run lacks. Frozen once released.
--
-- asset_partition_dag_run.created_dag_run_id references dag_run ON DELETE CASCADE without an
-- index, so deleting a DAG run (the maintenance DAG's `airflow db clean`, or Airflow's own) scans
-- the whole table for it: with 1,000,000 past per-message runs, one batch of 5,000 DAG runs took
-- over five minutes, and 16,671 rows left in the table still made it two. Only when Airflow's
-- tables are there (`airflow db migrate` builds them before ours; a bare database has none).

-- upgrade --
DO $$
BEGIN
    IF to_regclass('asset_partition_dag_run') IS NOT NULL THEN
        CREATE INDEX IF NOT EXISTS openfn_apdr_created_dag_run_idx
            ON asset_partition_dag_run (created_dag_run_id);
    END IF;
END
$$;

-- downgrade --
DROP INDEX IF EXISTS openfn_apdr_created_dag_run_idx;
