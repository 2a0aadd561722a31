-- Retention (activity cleaning): a project's messages and runs past its periods, one batch at a
-- time. Each batch is found in key order ((received_at, id) or (created_at, id)) after the last
-- one, so rows a batch leaves (still waiting, or locked) are not read again.

-- retention_cutoff --
SELECT now() - make_interval(secs => %(seconds)s) AS cutoff;

-- claim_expired_messages --
-- The index on (project, received_at DESC, id DESC), read backwards from the oldest. A message
-- still waiting for a delivery or for a batched job's run is kept until it has been processed;
-- one with a run still running too: that run's final state, written when it ends, would hold
-- the payload after the purge of its states.
SELECT m.id, m.received_at
FROM openfn_message AS m
WHERE m.project = %(project)s
  AND m.received_at < %(cutoff)s
  AND (m.received_at, m.id) > (%(after_at)s::timestamptz, %(after_id)s::bigint)
  AND NOT EXISTS (
      SELECT 1 FROM openfn_dispatch AS d
      WHERE d.message_id = m.id AND d.dispatched_at IS NULL
  )
  AND NOT EXISTS (
      -- OFFSET 0: probe each message's runs through their index; as an anti-join the planner
      -- reads every run to find the (few) pending ones.
      SELECT 1 FROM openfn_run AS r
      WHERE r.message_id = m.id AND r.status IN ('pending', 'running')
      OFFSET 0
  )
ORDER BY m.received_at, m.id
LIMIT %(limit)s
FOR UPDATE OF m SKIP LOCKED;

-- purge_message_run_states --
-- A message's payload goes with it: its runs' states hold its body and headers (the initial
-- state, and final_state.references as a rule), also those of runs chained on its runs'
-- success or failure, and of their retries, which carry its message_id too. The runs keep their
-- status, times, exit code and log; a state that was never there (NULL) stays NULL. The marker
-- is runs.PURGED_STATE.
UPDATE openfn_run
SET initial_state = CASE WHEN initial_state IS NULL THEN NULL ELSE '{"purged": true}'::jsonb END,
    final_state = CASE WHEN final_state IS NULL THEN NULL ELSE '{"purged": true}'::jsonb END
WHERE message_id = ANY(%(ids)s::bigint[])
  AND (initial_state IS NOT NULL OR final_state IS NOT NULL);

-- detach_runs_from_messages --
-- The runs stay (until their own period); what ON DELETE SET NULL would do, counted.
UPDATE openfn_run SET message_id = NULL WHERE message_id = ANY(%(ids)s::bigint[]);

-- delete_message_versions --
DELETE FROM openfn_message_version WHERE message_id = ANY(%(ids)s::bigint[]);

-- delete_message_attachments --
-- Its files (photos, signatures): what ON DELETE CASCADE would do, counted.
DELETE FROM openfn_attachment WHERE message_id = ANY(%(ids)s::bigint[]);

-- delete_message_dispatches --
DELETE FROM openfn_dispatch WHERE message_id = ANY(%(ids)s::bigint[]);

-- delete_messages --
DELETE FROM openfn_message WHERE id = ANY(%(ids)s::bigint[]);

-- claim_expired_runs --
-- The index on (project, created_at). Pending runs (a batched job's queue) and running ones are
-- work in progress, never history.
SELECT r.id, r.created_at
FROM openfn_run AS r
WHERE r.project = %(project)s
  AND r.created_at < %(cutoff)s
  AND (r.created_at, r.id) > (%(after_at)s::timestamptz, %(after_id)s::bigint)
  AND r.status NOT IN ('pending', 'running')
ORDER BY r.created_at, r.id
LIMIT %(limit)s
FOR UPDATE OF r SKIP LOCKED;

-- detach_retries --
-- Later retries of a deleted run keep their own history; what ON DELETE SET NULL would do, counted.
UPDATE openfn_run SET retry_of = NULL
WHERE retry_of = ANY(%(ids)s::bigint[]) AND NOT id = ANY(%(ids)s::bigint[]);

-- delete_runs --
DELETE FROM openfn_run WHERE id = ANY(%(ids)s::bigint[]);
