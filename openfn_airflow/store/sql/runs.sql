-- The run ledger: one row per OpenFn run, tied to the Airflow task instance that executed it.

-- start_run --
INSERT INTO openfn_run (
    project, job, trigger, message_id, dag_id, dag_run_id, task_id, try_number, map_index,
    initial_state, retry_of, upstream_run_id, bundle_version, ran_with, status, started_at
)
VALUES (
    %(project)s, %(job)s, %(trigger)s, %(message_id)s, %(dag_id)s, %(dag_run_id)s, %(task_id)s,
    %(try_number)s, %(map_index)s, %(initial_state)s, %(retry_of)s, %(upstream_run_id)s,
    %(bundle_version)s, %(ran_with)s, 'running', now()
)
RETURNING id;

-- finish_run --
UPDATE openfn_run
SET status = %(status)s,
    exit_code = %(exit_code)s,
    log = %(log)s,
    final_state = %(final_state)s,
    finished_at = now()
WHERE id = %(run_id)s;

-- get_run --
SELECT id, project, job, message_id, trigger, status, exit_code, started_at, finished_at,
       retry_of, upstream_run_id, dag_id, dag_run_id, task_id, try_number, map_index,
       bundle_version, created_at, ran_with, log, initial_state, final_state
FROM openfn_run
WHERE id = %(run_id)s;

-- get_cursor_state --
-- The latest successful run's final state, whatever its size: one too big to carry failed its
-- run (the job task's cursor limit), so it is never here. Not a run on a message (a cron job run
-- by hand on one): its state holds the message, which the cron runs would carry on after
-- retention deleted it; nor a state purged with its message.
SELECT final_state
FROM openfn_run
WHERE project = %(project)s AND job = %(job)s AND status = 'success'
  AND message_id IS NULL
  AND final_state <> '{"purged": true}'::jsonb
ORDER BY id DESC
LIMIT 1;

-- find_previous_attempt --
-- An earlier ledger row of the same task instance for the same message / upstream run:
-- Airflow retried or cleared the task, and the new run records which one it repeats.
SELECT id
FROM openfn_run
WHERE dag_id = %(dag_id)s
  AND dag_run_id = %(dag_run_id)s
  AND task_id = %(task_id)s
  AND message_id IS NOT DISTINCT FROM %(message_id)s::bigint
  AND upstream_run_id IS NOT DISTINCT FROM %(upstream_run_id)s::bigint
ORDER BY id DESC
LIMIT 1;

-- list_runs --
-- Summary columns only (no log or states); a filter given as NULL does not filter.
SELECT id, project, job, message_id, trigger, status, exit_code, started_at, finished_at,
       retry_of, upstream_run_id, dag_id, dag_run_id, task_id, try_number, map_index,
       bundle_version, created_at
FROM openfn_run
WHERE (%(project)s::text IS NULL OR project = %(project)s::text)
  AND (%(job)s::text IS NULL OR job = %(job)s::text)
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
ORDER BY id DESC
LIMIT %(limit)s;

-- latest_attempts --
-- The runs of one DAG run that no later attempt retried: what the DAG run's outcome is made of.
SELECT id, status, exit_code, message_id, upstream_run_id
FROM openfn_run AS r
WHERE dag_id = %(dag_id)s AND dag_run_id = %(dag_run_id)s
  AND NOT EXISTS (SELECT 1 FROM openfn_run AS later WHERE later.retry_of = r.id)
ORDER BY id;

-- try_task_lock --
-- The lock a job task's process holds (session level, released when its connection closes) for
-- as long as it runs its jobs: a later attempt of the same task instance waits until an earlier
-- attempt's process is gone (a scheduler or worker that died leaves its task processes running,
-- and Airflow starts the task again).
SELECT pg_try_advisory_lock(hashtextextended(%(key)s, 0)) AS locked;

-- wait_task_lock --
SELECT pg_advisory_lock(hashtextextended(%(key)s, 0));

-- mark_unfinished_runs --
-- Runs of a DAG run still 'running' when its job task is over: the task process died mid-run.
UPDATE openfn_run
SET status = 'crashed',
    exit_code = 5,
    log = log || %(note)s,
    finished_at = now()
WHERE dag_id = %(dag_id)s AND dag_run_id = %(dag_run_id)s AND status = 'running'
RETURNING id;

-- queue_runs --
-- Pending runs of a batched job, one per message: the queue its DAG runs claim from. Written in
-- the transaction that registers the asset event, so no message is scheduled without its row.
INSERT INTO openfn_run (project, job, trigger, message_id, status)
SELECT %(project)s, %(job)s, 'message', message_id, 'pending'
FROM unnest(%(message_ids)s::bigint[]) AS message_id;

-- lock_job_queue --
-- Held until the transaction ends by whoever adds to a job's queue of pending runs while it
-- decides whether a DAG run that has not claimed yet will take them (the dispatcher, for an
-- auto job), and by a task claiming from it: a claim never runs between that look and the
-- commit of the runs it counted on.
SELECT pg_advisory_xact_lock(hashtextextended('openfn-queue:' || %(project)s || '/' || %(job)s, 0));

-- count_pending_runs --
SELECT count(*) AS pending FROM openfn_run
WHERE project = %(project)s AND job = %(job)s AND status = 'pending';

-- count_runs_under_way --
-- An auto job's backlog as the dispatcher weighs it: the runs waiting in its queue, those
-- running (a batch under way holds many; a job that keeps up, a few), and those made in the
-- last `seconds` (queued or started: its messages' pace), the last through
-- openfn_run_project_created_at_idx (the project's newest rows only). One round trip.
SELECT u.pending, u.running, r.recent
FROM (
    SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE status = 'running') AS running
    FROM openfn_run
    WHERE project = %(project)s AND job = %(job)s AND status IN ('pending', 'running')
) AS u,
(
    SELECT count(*) AS recent
    FROM openfn_run
    WHERE project = %(project)s AND created_at > now() - make_interval(secs => %(seconds)s)
      AND job = %(job)s
) AS r;

-- claim_pending_runs --
-- Take the oldest pending runs of a job for this task; another DAG run running at the same time
-- skips the rows this one holds.
UPDATE openfn_run
SET status = 'running',
    started_at = now(),
    dag_id = %(dag_id)s,
    dag_run_id = %(dag_run_id)s,
    task_id = %(task_id)s,
    try_number = %(try_number)s,
    bundle_version = %(bundle_version)s
WHERE id IN (
    SELECT id FROM openfn_run
    WHERE project = %(project)s AND job = %(job)s AND status = 'pending'
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING id, message_id;

-- set_initial_state --
-- A claimed run starts when its job does, not when its DAG run claimed it with the others.
UPDATE openfn_run
SET initial_state = %(initial_state)s, ran_with = %(ran_with)s, started_at = now()
WHERE id = %(run_id)s;
