-- The canary's round trip (GET /openfn/health): read from the rows the inbox, the dispatcher,
-- the scheduler (Airflow's dag_run) and the job task write; nothing is recorded for it.

-- check_database --
-- Whether the database answers (as Airflow's /api/v2/monitor/health asks it), and its clock:
-- the rows' times are its now().
SELECT 1 AS answered, now() AS now;

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
