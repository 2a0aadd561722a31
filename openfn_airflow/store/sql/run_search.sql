-- The run history: list, count, export and bulk-retry selection over the same filters.

-- log_prefix_tsquery --
-- prefix_tsquery (search.sql) of a search text read as a log is (openfn_log_text splits URLs),
-- so a pasted URL or path finds the logs that hold it.
(replace(NULLIF(strip(to_tsvector('simple'::regconfig, openfn_log_text(%(text)s::text)))::text, ''),
         ''' ''', ''':* & ''') || ':*')::tsquery

-- run_filters --
(%(project)s::text IS NULL OR r.project = %(project)s::text)
AND (%(job)s::text IS NULL OR r.job = %(job)s::text)
AND /* include visible_run */
AND (%(statuses)s::text[] IS NULL OR r.status = ANY (%(statuses)s::text[]))
AND (%(message_id)s::bigint IS NULL OR r.message_id = %(message_id)s::bigint)
AND (%(after)s::timestamptz IS NULL OR r.created_at >= %(after)s::timestamptz)
AND (%(before)s::timestamptz IS NULL OR r.created_at < %(before)s::timestamptz)
AND (%(from_id)s::bigint IS NULL OR r.id >= %(from_id)s::bigint)
AND (%(to_id)s::bigint IS NULL OR r.id <= %(to_id)s::bigint)
AND (
    %(text)s::text IS NULL
    OR r.log_words @@ /* include log_prefix_tsquery */
)

-- search_runs --
-- Newest first, a page after the cursor before_id; summary columns only.
SELECT r.id, r.project, r.job, r.message_id, r.trigger, r.status, r.exit_code, r.started_at,
       r.finished_at, r.retry_of, r.upstream_run_id, r.dag_id, r.dag_run_id, r.task_id,
       r.try_number, r.created_at
FROM openfn_run AS r
WHERE /* include run_filters */
  AND (%(before_id)s::bigint IS NULL OR r.id < %(before_id)s::bigint)
ORDER BY r.id DESC
LIMIT %(limit)s;

-- count_runs --
-- Counting stops at cap rows: a caller shows "cap+" rather than wait for an exact figure.
SELECT count(*) AS n
FROM (SELECT 1 FROM openfn_run AS r WHERE /* include run_filters */ LIMIT %(cap)s) AS capped;

-- export_run_columns --
-- Every text cell that a spreadsheet would read as a formula gets a leading '.
r.id,
    regexp_replace(r.project, '^([-=+@\t\r])', '''\1') AS project,
    regexp_replace(r.job, '^([-=+@\t\r])', '''\1') AS job,
    r.trigger, r.status, r.exit_code, r.message_id, r.retry_of, r.upstream_run_id,
    to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
    to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS started_at,
    to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS finished_at,
    regexp_replace(r.dag_id, '^([-=+@\t\r])', '''\1') AS dag_id,
    regexp_replace(r.dag_run_id, '^([-=+@\t\r])', '''\1') AS dag_run_id

-- export_runs --
-- Streamed by COPY.
COPY (
    SELECT /* include export_run_columns */
    FROM openfn_run AS r
    WHERE /* include run_filters */
    ORDER BY r.id DESC
) TO STDOUT WITH (FORMAT csv, HEADER);

-- export_runs_with_log --
-- As export_runs, with each run's whole log in the last column.
COPY (
    SELECT /* include export_run_columns */,
           regexp_replace(r.log, '^([-=+@\t\r])', '''\1') AS log
    FROM openfn_run AS r
    WHERE /* include run_filters */
    ORDER BY r.id DESC
) TO STDOUT WITH (FORMAT csv, HEADER);

-- select_retry_runs --
-- Finished runs matching the filters that were not retried yet, oldest first, at most cap: a
-- repeated request retries nothing twice. A run started by the success or failure of another
-- run is left out when that upstream run is retried too (now or before): its retry starts the
-- downstream job again (as OpenFn's bulk retry did).
WITH selected AS (
    SELECT r.id, r.project, r.job, r.trigger, r.status, r.dag_id, r.upstream_run_id,
           r.initial_state IS NOT NULL AS has_initial_state
    FROM openfn_run AS r
    WHERE /* include run_filters */
      AND r.status NOT IN ('pending', 'running')
      AND NOT EXISTS (
          SELECT 1 FROM (SELECT r.id, r.dag_id, r.project, r.job) AS w
          WHERE /* include already_retried */
      )
    ORDER BY r.id
    LIMIT %(cap)s
)
SELECT s.id, s.project, s.job, s.trigger, s.status, s.dag_id, s.has_initial_state
FROM selected AS s
WHERE NOT (
    s.trigger IN ('success', 'failure')
    AND (
        s.upstream_run_id IN (SELECT id FROM selected)
        OR EXISTS (
            SELECT 1 FROM openfn_run AS w
            WHERE w.id = s.upstream_run_id AND /* include already_retried */
        )
    )
)
ORDER BY s.id;

-- list_retries_of --
SELECT id FROM openfn_run WHERE retry_of = %(run_id)s ORDER BY id;

-- list_message_runs --
-- Every run of a message, newest first, summary columns only.
SELECT r.id, r.project, r.job, r.message_id, r.trigger, r.status, r.exit_code, r.started_at,
       r.finished_at, r.retry_of, r.upstream_run_id, r.dag_id, r.dag_run_id, r.task_id,
       r.try_number, r.created_at
FROM openfn_run AS r
WHERE r.message_id = %(message_id)s AND /* include visible_run */
ORDER BY r.id DESC
LIMIT %(limit)s;

-- find_run_at --
-- The id of the run at a position of the filtered list, newest first (0 is the newest): where
-- "go to page" starts. The caller keeps the position under the count cap, so this reads at most
-- that many entries of the index the list itself is read from.
SELECT r.id
FROM openfn_run AS r
WHERE /* include run_filters */
ORDER BY r.id DESC
OFFSET %(position)s
LIMIT 1;

-- find_run_neighbours --
-- The next older and the next newer run of the same project, of the jobs the caller may see. No index starts with (project,
-- id), and a rare project would make a walk of the primary key read most of the table: the
-- project's jobs are found by a skip scan of (project, job, id DESC), then each job's nearest
-- run on either side is one index entry.
WITH RECURSIVE jobs AS (
    (SELECT r.job FROM openfn_run AS r WHERE r.project = %(project)s ORDER BY r.job LIMIT 1)
    UNION ALL
    SELECT (SELECT r.job FROM openfn_run AS r
            WHERE r.project = %(project)s AND r.job > jobs.job
            ORDER BY r.job LIMIT 1)
    FROM jobs
    WHERE jobs.job IS NOT NULL
)
SELECT
    (SELECT max(o.id) FROM jobs AS j CROSS JOIN LATERAL (
        SELECT r.id FROM openfn_run AS r
        WHERE r.project = %(project)s AND r.job = j.job AND r.id < %(run_id)s
        ORDER BY r.id DESC LIMIT 1
    ) AS o
     WHERE %(visible_jobs)s::text[] IS NULL
        OR %(project)s || '/' || j.job = ANY (%(visible_jobs)s::text[])) AS older,
    (SELECT min(n.id) FROM jobs AS j CROSS JOIN LATERAL (
        SELECT r.id FROM openfn_run AS r
        WHERE r.project = %(project)s AND r.job = j.job AND r.id > %(run_id)s
        ORDER BY r.id LIMIT 1
    ) AS n
     WHERE %(visible_jobs)s::text[] IS NULL
        OR %(project)s || '/' || j.job = ANY (%(visible_jobs)s::text[])) AS newer;

-- searchable_up_to --
-- How many characters of a run's log its search reads, when not all of them: the marker lexeme
-- openfn_log_words adds (its comment in schema.sql says why it cannot match a search word).
SELECT (
    SELECT substr(w.lexeme, length(' searchable up to ') + 1)::bigint
    FROM unnest(r.log_words) AS w
    WHERE w.lexeme LIKE ' searchable up to %%'
) AS up_to
FROM openfn_run AS r
WHERE r.id = %(run_id)s;
