-- Migration 0008: a run records what ran it. Frozen once released.
--
-- ran_with is the engine's one-line description (Python, openfn-airflow and Airflow versions; or
-- Node, @openfn/runtime and the adaptor versions of a JavaScript job). Runs stored before it
-- have none: nothing recorded what ran them, and guessing would be wrong for old versions.

-- upgrade --
ALTER TABLE openfn_run ADD COLUMN ran_with text;

-- downgrade --
ALTER TABLE openfn_run DROP COLUMN ran_with;
