-- The message history (the inbox view): list, count, export and bulk-reprocess selection over
-- the same filters, and what one message's page shows.

-- visible_run --
-- Run r is of a job whose DAG the caller may read (visible_jobs holds 'project/job'; NULL: all).
(%(visible_jobs)s::text[] IS NULL OR r.project || '/' || r.job = ANY (%(visible_jobs)s::text[]))

-- message_filters --
-- Text: openfn_message.search_vector (the body's string and number values, 'simple' config).
-- Trigger: criteria / exclude are the trigger's own filter, so @> uses the GIN index.
-- Run state: the latest run of the message (of job when given) ended in latest_statuses,
-- or the message has no run (of job) at all when no_runs.
(%(project)s::text IS NULL OR m.project = %(project)s::text)
AND (%(visible_projects)s::text[] IS NULL OR m.project = ANY (%(visible_projects)s::text[]))
AND (%(received_after)s::timestamptz IS NULL OR m.received_at >= %(received_after)s::timestamptz)
AND (%(received_before)s::timestamptz IS NULL OR m.received_at < %(received_before)s::timestamptz)
AND (%(from_id)s::bigint IS NULL OR m.id >= %(from_id)s::bigint)
AND (%(to_id)s::bigint IS NULL OR m.id <= %(to_id)s::bigint)
AND (%(text)s::text IS NULL OR m.search_vector @@ /* include prefix_tsquery */)
AND (%(criteria)s::jsonb IS NULL OR m.body @> %(criteria)s::jsonb)
AND (%(exclude)s::jsonb IS NULL OR NOT m.body @> %(exclude)s::jsonb)
AND (
    NOT %(no_runs)s::boolean
    OR NOT EXISTS (
        SELECT 1 FROM openfn_run AS r
        WHERE r.message_id = m.id AND (%(job)s::text IS NULL OR r.job = %(job)s::text)
          AND /* include visible_run */
    )
)
AND (
    %(latest_statuses)s::text[] IS NULL
    OR (
        SELECT r.status FROM openfn_run AS r
        WHERE r.message_id = m.id AND (%(job)s::text IS NULL OR r.job = %(job)s::text)
          AND /* include visible_run */
        ORDER BY r.id DESC
        LIMIT 1
    ) = ANY (%(latest_statuses)s::text[])
)

-- matched_triggers --
-- The triggers the message was delivered to (on arrival, or reprocessed): its dispatch rows.
ARRAY(SELECT DISTINCT d.trigger FROM openfn_dispatch AS d WHERE d.message_id = m.id ORDER BY 1)

-- search_messages --
-- Newest first, a page after the cursor before_id, each with its matches and latest run.
SELECT m.id, m.project, m.received_at, m.method, m.path, m.headers, m.body,
       /* include matched_triggers */ AS matched,
       latest.id AS latest_run_id, latest.job AS latest_run_job,
       latest.status AS latest_run_status
FROM openfn_message AS m
LEFT JOIN LATERAL (
    SELECT r.id, r.job, r.status FROM openfn_run AS r
    WHERE r.message_id = m.id AND /* include visible_run */ ORDER BY r.id DESC LIMIT 1
) AS latest ON true
WHERE /* include message_filters */
  AND (%(before_id)s::bigint IS NULL OR m.id < %(before_id)s::bigint)
ORDER BY m.id DESC
LIMIT %(limit)s;

-- count_messages --
-- Counting stops at cap rows: a caller shows "cap+" rather than wait for an exact figure.
SELECT count(*) AS n
FROM (SELECT 1 FROM openfn_message AS m WHERE /* include message_filters */ LIMIT %(cap)s) AS c;

-- export_messages --
-- Streamed by COPY; every text cell that a spreadsheet would read as a formula gets a leading '.
COPY (
    SELECT m.id,
           regexp_replace(m.project, '^([-=+@\t\r])', '''\1') AS project,
           to_char(m.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
               AS received_at,
           regexp_replace(m.method, '^([-=+@\t\r])', '''\1') AS method,
           regexp_replace(m.path, '^([-=+@\t\r])', '''\1') AS path,
           regexp_replace(array_to_string(/* include matched_triggers */, ' '),
                          '^([-=+@\t\r])', '''\1') AS matched,
           (SELECT r.status FROM openfn_run AS r
            WHERE r.message_id = m.id AND /* include visible_run */
            ORDER BY r.id DESC LIMIT 1) AS latest_run_status,
           regexp_replace(m.headers::text, '^([-=+@\t\r])', '''\1') AS headers,
           regexp_replace(m.body::text, '^([-=+@\t\r])', '''\1') AS body
    FROM openfn_message AS m
    WHERE /* include message_filters */
    ORDER BY m.id DESC
) TO STDOUT WITH (FORMAT csv, HEADER);

-- get_trigger_filter --
SELECT criteria, exclude FROM openfn_trigger WHERE project = %(project)s AND name = %(name)s;

-- get_message_matched --
SELECT /* include matched_triggers */ AS matched FROM openfn_message AS m WHERE m.id = %(message_id)s;

-- list_listening_matches --
-- The triggers a message would be delivered to if it arrived now.
SELECT DISTINCT t.name
FROM openfn_message AS m
JOIN openfn_trigger AS t ON t.project = m.project
WHERE m.id = %(message_id)s
  AND m.body @> t.criteria
  AND NOT (t.exclude IS NOT NULL AND m.body @> t.exclude)
  AND /* include trigger_has_listener */
ORDER BY 1;

-- list_message_dispatches --
SELECT trigger, created_at, dispatched_at, attempts, last_error
FROM openfn_dispatch
WHERE message_id = %(message_id)s
ORDER BY id DESC
LIMIT %(limit)s;

-- reprocess_matches --
-- What "the message arrived" would deliver now for the filtered messages, in the order they were
-- received: one row per message and matching trigger that at least one job listens to (on,
-- autoprocess on, DAG not paused), exactly as the inbox's receive_message decides.
-- Messages first, then their project's few listening triggers, one message at a time (ARRAY()
-- is a subplan the planner cannot turn into a join): joined, the planner went the other way,
-- one GIN scan of every message matching each trigger (200,000 of 1M for a common form, 1 s
-- each) to keep the few in an id range.
WITH listening AS MATERIALIZED (
    SELECT t.project, t.name, t.criteria, t.exclude
    FROM openfn_trigger AS t
    WHERE /* include trigger_has_listener */
)
SELECT m.id AS message_id, m.project, matched.trigger
FROM openfn_message AS m
CROSS JOIN LATERAL unnest(ARRAY(
    SELECT l.name FROM listening AS l
    WHERE l.project = m.project
      AND m.body @> l.criteria
      AND NOT (l.exclude IS NOT NULL AND m.body @> l.exclude)
    ORDER BY l.name
)) AS matched(trigger)
WHERE /* include message_filters */
ORDER BY m.id, matched.trigger

-- count_reprocess_matches --
SELECT count(*) AS dispatches, count(DISTINCT message_id) AS messages
FROM (/* include reprocess_matches */) AS matches;

-- queue_reprocess_matches --
-- The outbox rows the dispatcher turns into asset events, oldest message first; the NOTIFY wakes
-- the dispatchers when the transaction commits.
WITH queued AS (
    INSERT INTO openfn_dispatch (message_id, project, trigger)
    SELECT message_id, project, trigger FROM (/* include reprocess_matches */) AS matches
    RETURNING message_id, project, trigger
),
notified AS (
    SELECT pg_notify('openfn_dispatch', '') FROM (SELECT FROM queued LIMIT 1) AS any_row
)
SELECT q.message_id, q.project, q.trigger, (SELECT count(*) FROM notified) AS notified
FROM queued AS q;

-- find_message_at --
-- The id of the message at a position of the filtered list, newest first (0 is the newest):
-- where "go to page" starts. The caller keeps the position under the count cap, so this reads
-- at most that many entries of the index the list itself is read from.
SELECT m.id
FROM openfn_message AS m
WHERE /* include message_filters */
ORDER BY m.id DESC
OFFSET %(position)s
LIMIT 1;

-- find_message_neighbours --
-- The next older and the next newer message of the same project: (project, id) index, one
-- entry each.
SELECT
    (SELECT o.id FROM openfn_message AS o
     WHERE o.project = %(project)s AND o.id < %(message_id)s
     ORDER BY o.id DESC LIMIT 1) AS older,
    (SELECT n.id FROM openfn_message AS n
     WHERE n.project = %(project)s AND n.id > %(message_id)s
     ORDER BY n.id LIMIT 1) AS newer;
