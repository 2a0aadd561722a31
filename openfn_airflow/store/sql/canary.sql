-- The canary's round trip (GET /openfn/health): read from the rows the inbox, the dispatcher,
-- the scheduler (Airflow's dag_run) and the job task write; nothing is recorded for it.

-- check_database --
-- Whether the database answers (as Airflow's /api/v2/monitor/health asks it), and its clock:
-- the rows' times are its now().
SELECT 1 AS answered, now() AS now;

-- get_canary_project --
-- When the registry first had the canary, whether its spec is synced now, and whether one of
-- its jobs is switched off (its DAG paused).
SELECT p.created_at, p.spec_hash IS NOT NULL AS registered,
       COALESCE((SELECT bool_or(d.is_paused)
                 FROM openfn_job AS j JOIN dag AS d ON d.dag_id = j.dag_id
                 WHERE j.project = p.name), false) AS paused
FROM openfn_project AS p
WHERE p.name = %(project)s;

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

-- list_latest_outcomes --
-- Each job's newest finished run.
SELECT j.job, r.id AS run_id, r.status, r.finished_at
FROM unnest(%(jobs)s::text[]) AS j (job)
CROSS JOIN LATERAL (
    SELECT id, status, finished_at
    FROM openfn_run
    WHERE project = %(project)s AND job = j.job AND status NOT IN ('pending', 'running')
    ORDER BY id DESC
    LIMIT 1
) AS r
ORDER BY j.job;
