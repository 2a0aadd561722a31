-- Migration 0009: a job remembers when its spec's `enabled` last switched its DAG. Frozen once
-- released.
--
-- openfn_job.enabled is the spec's value last applied to the DAG's pause; enabled_changed_at is
-- when a spec change applied it (paused or unpaused the DAG, or created it off). The Jobs screen
-- compares it with Airflow's audit log of pauses to say which one switched the job last. Jobs
-- synced before it have none: nothing recorded when their spec last changed the switch.

-- upgrade --
ALTER TABLE openfn_job ADD COLUMN enabled_changed_at timestamptz;

-- downgrade --
ALTER TABLE openfn_job DROP COLUMN enabled_changed_at;
