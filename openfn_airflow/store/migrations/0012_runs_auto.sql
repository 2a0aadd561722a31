-- Migration 0012: a job's `runs` may be 'auto' (the new default): one DAG run per message while
-- its backlog is short, the waiting messages of the job in one DAG run when it grows
-- (dags/assets.py). Frozen once released.

-- upgrade --
ALTER TABLE openfn_job DROP CONSTRAINT openfn_job_runs_check;
ALTER TABLE openfn_job ADD CONSTRAINT openfn_job_runs_check
    CHECK (runs IN ('auto', 'per-message', 'batched'));
ALTER TABLE openfn_job ALTER COLUMN runs SET DEFAULT 'auto';

-- downgrade --
UPDATE openfn_job SET runs = 'per-message' WHERE runs = 'auto';
ALTER TABLE openfn_job ALTER COLUMN runs SET DEFAULT 'per-message';
ALTER TABLE openfn_job DROP CONSTRAINT openfn_job_runs_check;
ALTER TABLE openfn_job ADD CONSTRAINT openfn_job_runs_check
    CHECK (runs IN ('per-message', 'batched'));
