-- Migration 0003: the run history. Run logs become searchable (full text, prefix matching) and a
-- project's runs are found by date (usage per day, date-range lists). Frozen once released.

-- upgrade --
-- The expression run_search.sql searches with: keep the two equal. Only the first 256 KiB of a
-- log are indexed, so a huge log never makes a run unsaveable (a tsvector is at most 1 MiB).
CREATE INDEX openfn_run_log_search_idx
    ON openfn_run USING gin (to_tsvector('simple'::regconfig, left(log, 262144)));
CREATE INDEX openfn_run_project_created_at_idx ON openfn_run (project, created_at);

-- downgrade --
DROP INDEX openfn_run_project_created_at_idx;
DROP INDEX openfn_run_log_search_idx;
