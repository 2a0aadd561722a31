-- Migration 0005: indexes for the capped counts of the history's filters over millions of rows.
-- Frozen once released.
--
-- The inbox's "latest run succeeded / failed" filter reads a message's newest run (of a job) for
-- every candidate message. With an index on message_id alone each probe fetched and sorted the
-- message's runs from the heap; (message_id, id DESC) with job and status included answers it
-- from the index alone (1M messages and runs: the capped count went from 5.0 s to 0.6 s). It
-- serves every other message_id lookup too, so it replaces the index on message_id.
--
-- A date window without a project (the inbox's default view of all projects) had no index to
-- start from: counting the matches of a text prefix scanned from the oldest message
-- (0.75 s -> 0.15 s with this index, 1M messages).

-- upgrade --
CREATE INDEX openfn_run_message_latest_idx ON openfn_run (message_id, id DESC) INCLUDE (job, status);
DROP INDEX openfn_run_message_id_idx;
CREATE INDEX openfn_message_received_idx ON openfn_message (received_at);

-- downgrade --
DROP INDEX openfn_message_received_idx;
CREATE INDEX openfn_run_message_id_idx ON openfn_run (message_id);
DROP INDEX openfn_run_message_latest_idx;
