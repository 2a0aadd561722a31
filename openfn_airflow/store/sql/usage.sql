-- What a project uses: its runs per day and what waits to run.

-- count_runs_per_day --
-- Runs created since since per UTC day and status.
SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, r.status, count(*) AS runs
FROM openfn_run AS r
WHERE r.project = %(project)s AND r.created_at >= %(since)s
GROUP BY 1, 2
ORDER BY 1, 2;

-- count_unfinished_runs --
-- Ledger runs waiting (pending: batched jobs' queue) or running.
SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
       count(*) FILTER (WHERE status = 'running') AS running
FROM openfn_run
WHERE project = %(project)s AND status IN ('pending', 'running');

-- count_undispatched --
-- Inbox deliveries (outbox rows) the dispatcher has not turned into asset events yet.
SELECT count(*) AS n FROM openfn_dispatch WHERE project = %(project)s AND dispatched_at IS NULL;
