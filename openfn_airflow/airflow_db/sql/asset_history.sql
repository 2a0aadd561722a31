-- Airflow's asset tables, kept bounded by the maintenance DAG. Airflow never deletes from them:
-- every message leaves an asset_event, and in per-message mode an asset_partition_dag_run (APDR)
-- and a partitioned_asset_key_log row. The APDR table has no index for the lookups Airflow makes
-- on every new event and every scheduler loop, so its size is what slows them down.
-- Ids of these tables are 32-bit integers.

-- list_assets --
-- Every asset, with the oldest event time a DAG still waits on (its asset_dag_run_queue row was
-- made by the first event since the DAG's last run): events from then on are still to be consumed.
SELECT a.id,
       (SELECT min(q.created_at) FROM asset_dag_run_queue AS q WHERE q.asset_id = a.id) AS queued_since
FROM asset AS a
ORDER BY a.id;

-- pending_partition_event_ids --
-- Events counted towards a partition DAG run the scheduler has not created yet.
SELECT DISTINCT k.asset_event_id AS id
FROM asset_partition_dag_run AS r
JOIN partitioned_asset_key_log AS k ON k.asset_partition_dag_run_id = r.id
WHERE r.created_dag_run_id IS NULL;

-- claim_consumed_partition_runs --
-- Consumed APDRs (their DAG run exists): history only, the scheduler reads pending ones alone.
SELECT id
FROM asset_partition_dag_run
WHERE id > %(after)s AND created_dag_run_id IS NOT NULL AND created_at < %(cutoff)s
ORDER BY id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- delete_key_logs_of_partition_runs --
DELETE FROM partitioned_asset_key_log WHERE asset_partition_dag_run_id = ANY(%(ids)s::integer[]);

-- delete_partition_runs --
DELETE FROM asset_partition_dag_run WHERE id = ANY(%(ids)s::integer[]);

-- claim_orphan_key_logs --
-- Key log rows whose APDR is gone (deleted with its DAG run: the table has no foreign key).
SELECT k.id
FROM partitioned_asset_key_log AS k
WHERE k.id > %(after)s
  AND k.created_at < %(cutoff)s
  AND NOT EXISTS (
      SELECT 1 FROM asset_partition_dag_run AS r WHERE r.id = k.asset_partition_dag_run_id
  )
ORDER BY k.id
LIMIT %(limit)s
FOR UPDATE OF k SKIP LOCKED;

-- delete_key_logs --
DELETE FROM partitioned_asset_key_log WHERE id = ANY(%(ids)s::integer[]);

-- claim_expired_asset_events --
-- One asset's events before the cutoff, through the index on (asset_id, timestamp). Kept: events
-- of a pending partition DAG run, and events a queued or running DAG run was created from (its
-- tasks read them as their triggering events).
SELECT e.id, e.timestamp
FROM asset_event AS e
WHERE e.asset_id = %(asset_id)s
  AND e.timestamp < %(cutoff)s
  AND (e.timestamp, e.id) > (%(after_at)s::timestamptz, %(after_id)s::integer)
  AND NOT e.id = ANY(%(keep)s::integer[])
  AND NOT EXISTS (
      SELECT 1
      FROM dagrun_asset_event AS c
      JOIN dag_run AS d ON d.id = c.dag_run_id
      WHERE c.event_id = e.id AND d.state IN ('queued', 'running')
  )
ORDER BY e.timestamp, e.id
LIMIT %(limit)s
FOR UPDATE OF e SKIP LOCKED;

-- delete_event_dag_run_links --
DELETE FROM dagrun_asset_event WHERE event_id = ANY(%(ids)s::integer[]);

-- delete_event_alias_links --
DELETE FROM asset_alias_asset_event WHERE event_id = ANY(%(ids)s::integer[]);

-- delete_asset_events --
DELETE FROM asset_event WHERE id = ANY(%(ids)s::integer[]);
