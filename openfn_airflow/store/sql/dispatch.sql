-- The dispatch outbox: rows written with each message, turned into asset events by the
-- dispatcher in the same transaction that registers the events.

-- claim_dispatches --
-- Another dispatcher (another api-server) skips the rows this one holds until it commits.
SELECT id, message_id, project, trigger, attempts
FROM openfn_dispatch
WHERE dispatched_at IS NULL AND not_before <= now()
ORDER BY id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- mark_dispatched --
UPDATE openfn_dispatch
SET dispatched_at = now(), attempts = attempts + 1, last_error = NULL
WHERE id = ANY(%(ids)s::bigint[]);

-- defer_dispatches --
-- Not dispatched yet (the trigger's asset is not parsed, say): retried later, never dropped.
UPDATE openfn_dispatch
SET attempts = attempts + 1,
    last_error = %(error)s,
    not_before = now() + make_interval(secs => least(power(2, attempts + 1), %(max_delay)s))
WHERE id = ANY(%(ids)s::bigint[]);

-- list_dispatches --
SELECT id, message_id, project, trigger, created_at, attempts, not_before, dispatched_at, last_error
FROM openfn_dispatch
WHERE message_id = ANY(%(message_ids)s::bigint[])
ORDER BY id;

-- index_messages --
-- Search vectors of messages stored without one (large bodies, other writers, edits).
UPDATE openfn_message
SET search_vector = jsonb_to_tsvector('simple', body, '["string", "numeric"]')
WHERE id IN (
    SELECT id FROM openfn_message
    WHERE search_vector IS NULL
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
);

-- unindexed_message_ids --
SELECT id FROM openfn_message WHERE search_vector IS NULL ORDER BY id LIMIT %(limit)s;

-- index_message --
UPDATE openfn_message
SET search_vector = jsonb_to_tsvector('simple', body, '["string", "numeric"]')
WHERE id = %(message_id)s AND search_vector IS NULL;

-- give_up_indexing_message --
-- Its text does not fit in a tsvector (1 MB): searchable by nothing rather than retried forever.
UPDATE openfn_message SET search_vector = ''::tsvector
WHERE id = %(message_id)s AND search_vector IS NULL;

-- list_stalled_queues --
-- Auto jobs with runs waiting in their queue for a while: the dispatcher makes sure a DAG run
-- will take them (dags/assets.py wake_queue).
SELECT j.project, j.name AS job, j.trigger
FROM openfn_job AS j
WHERE j.runs = 'auto' AND j.trigger IS NOT NULL
  AND EXISTS (
      SELECT 1 FROM openfn_run AS r
      WHERE r.project = j.project AND r.job = j.name AND r.status = 'pending'
        AND r.created_at < now() - make_interval(secs => %(older_than)s)
  )
ORDER BY j.project, j.trigger, j.name;
