-- Airflow's dag_run (and the asset events a DAG run was created from, dagrun_asset_event): where
-- a message's delivery waits, when the scheduler queued a run, whether a retry waits to start;
-- and task_instance_history: how a task's previous try ended.

-- get_round_trip --
-- The newest successful run of the receiving job that its message's delivery started (not a
-- retry or a run by hand), with the time of each step: the message received by the inbox, its
-- delivery dispatched (the latest before the run, in case it was reprocessed), the DAG run
-- queued by the scheduler, and the run started and finished.
SELECT r.id AS run_id, r.message_id, m.received_at, d.dispatched_at, dr.queued_at,
       r.started_at, r.finished_at
FROM openfn_run AS r
JOIN openfn_message AS m ON m.id = r.message_id
LEFT JOIN LATERAL (
    SELECT max(x.dispatched_at) AS dispatched_at
    FROM openfn_dispatch AS x
    WHERE x.message_id = r.message_id AND x.dispatched_at <= r.started_at
) AS d ON true
LEFT JOIN dag_run AS dr ON dr.dag_id = r.dag_id AND dr.run_id = r.dag_run_id
WHERE r.project = %(project)s AND r.job = %(job)s AND r.status = 'success'
  AND r.trigger = 'message' AND r.finished_at IS NOT NULL
ORDER BY r.id DESC
LIMIT 1;

-- list_waiting_deliveries --
-- The messages' deliveries that wait in Airflow: a delivery (a dispatched outbox row) to a job
-- that has no ledger run of the message since, or a DAG run started by hand on it (run id
-- openfn_match__<id>__...), whose DAG run is not made yet, or is queued or running with no
-- ledger run of it yet. Only deliveries with no run since are looked up in Airflow's tables
-- (most messages on a page ran: they cost one index probe); their asset event is found through
-- (asset_id, timestamp) near the dispatch time, then its extra's message_ids. With no DAG run
-- of the job yet (dagrun_asset_event is filled when the scheduler makes it), dag_run_id is NULL.
-- Hand-started runs are looked for among queued and running DAG runs only (partial indexes).
WITH wanted AS (
    SELECT m.id, m.project FROM openfn_message AS m WHERE m.id = ANY(%(message_ids)s::bigint[])
),
pending AS (
    SELECT w.id AS message_id, d.project, d.trigger, d.dispatched_at, j.dag_id
    FROM wanted AS w
    JOIN openfn_dispatch AS d ON d.message_id = w.id AND d.dispatched_at IS NOT NULL
    JOIN openfn_job AS j ON j.project = d.project AND j.trigger = d.trigger AND j.autoprocess
    WHERE NOT EXISTS (
        SELECT 1 FROM openfn_run AS o
        WHERE o.message_id = w.id AND o.project = j.project AND o.job = j.name
          AND o.created_at >= d.dispatched_at
    )
),
events AS (
    SELECT p.message_id, p.dag_id, e.id AS event_id
    FROM pending AS p
    JOIN asset AS a ON a.uri = 'openfn://' || p.project || '/triggers/' || p.trigger
    JOIN asset_event AS e ON e.asset_id = a.id
        AND e.timestamp BETWEEN p.dispatched_at - interval '1 minute'
                            AND p.dispatched_at + interval '1 minute'
        AND (e.extra::jsonb -> 'message_ids') @> to_jsonb(p.message_id)
),
waiting AS (
    SELECT ev.message_id, r.dag_id, r.run_id, r.state::text AS state
    FROM events AS ev
    JOIN dagrun_asset_event AS c ON c.event_id = ev.event_id
    JOIN dag_run AS r ON r.id = c.dag_run_id AND r.dag_id = ev.dag_id
    UNION ALL
    SELECT ev.message_id, ev.dag_id, NULL, 'queued'
    FROM events AS ev
    WHERE NOT EXISTS (
        SELECT 1 FROM dagrun_asset_event AS c JOIN dag_run AS r ON r.id = c.dag_run_id
        WHERE c.event_id = ev.event_id AND r.dag_id = ev.dag_id
    )
    UNION ALL
    SELECT w.id, r.dag_id, r.run_id, r.state::text
    FROM wanted AS w
    JOIN openfn_job AS j ON j.project = w.project
    JOIN dag_run AS r ON r.dag_id = j.dag_id AND r.state IN ('queued', 'running')
        AND r.run_id LIKE 'openfn\_match\_\_' || w.id || '\_\_%%'
)
SELECT DISTINCT w.message_id, w.dag_id, w.run_id AS dag_run_id, w.state
FROM waiting AS w
WHERE w.state IN ('queued', 'running')
  AND NOT EXISTS (
      SELECT 1 FROM openfn_run AS o
      WHERE o.dag_id = w.dag_id AND o.dag_run_id = w.run_id AND o.message_id = w.message_id
  )
ORDER BY w.message_id, w.dag_id, w.run_id;

-- already_retried --
-- Whether run w was retried: a later run retries it, or its retry waits in Airflow (a DAG run
-- that dags/retries.py named openfn_retry__<run id>__..., queued or running, whose ledger run
-- does not exist yet).
(
    EXISTS (SELECT 1 FROM openfn_run AS later WHERE later.retry_of = w.id)
    OR EXISTS (
        SELECT 1 FROM dag_run AS d
        WHERE d.dag_id = COALESCE(w.dag_id, 'openfn__' || w.project || '__' || w.job)
          AND d.state IN ('queued', 'running')
          AND d.run_id LIKE 'openfn\_retry\_\_' || w.id || '\_\_%%'
    )
)

-- previous_try_state --
-- How Airflow recorded an earlier attempt of a task instance (Airflow's own table: the ledger lives
-- in Airflow's database). A try Airflow lost track of is recorded as failed.
SELECT state
FROM task_instance_history
WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s AND task_id = %(task_id)s
  AND map_index = %(map_index)s AND try_number = %(try_number)s;
