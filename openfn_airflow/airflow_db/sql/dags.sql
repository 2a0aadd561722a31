-- Airflow's dag table: a job's switch (is_paused, the one on/off) and whether Airflow still runs
-- its DAG (is_stale). Read beside the registry's openfn_job rows, written where the spec decides.
--
-- trigger_has_listener: trigger t (the alias) has at least one job listening to it: autoprocess
-- on and on, which is its DAG unpaused (the one switch; the spec's `enabled` reaches it through
-- inbox/registry.py). A DAG Airflow has not parsed yet will be created paused exactly when the
-- spec says enabled: false, so until then that decides. Airflow drops asset events for a paused
-- DAG for good, so nothing is delivered to a trigger without a listener. Shared by the inbox,
-- "process now" and bulk reprocess.

-- trigger_has_listener --
EXISTS (
    SELECT FROM openfn_job AS j
    LEFT JOIN dag AS d ON d.dag_id = j.dag_id
    WHERE j.project = t.project AND j.trigger = t.name AND j.autoprocess
      AND COALESCE(NOT d.is_paused, j.enabled)
)

-- apply_spec_enabled --
-- The jobs whose spec's `enabled` changed switch their DAG to it; a spec that did not change it
-- never touches the pause, so the Jobs screen's switch stays as set. A new job's DAG is created
-- as the spec says (is_paused_upon_creation); one Airflow still has (the job was removed and
-- added back, the registry emptied) keeps its switch. enabled_changed_at says when the spec
-- last decided: a change, or a new job created off.
WITH x AS (
    SELECT * FROM jsonb_to_recordset(%(jobs)s::jsonb)
        AS x (name text, dag_id text, enabled boolean, added boolean)
),
switched AS (
    UPDATE dag AS d SET is_paused = NOT x.enabled
    FROM x
    WHERE d.dag_id = x.dag_id AND d.is_paused = x.enabled AND NOT x.added
)
UPDATE openfn_job AS j SET enabled_changed_at = now()
FROM x
WHERE j.project = %(project)s AND j.name = x.name AND (NOT x.added OR NOT x.enabled)
RETURNING j.name, j.enabled;

-- retire_archived_dags --
-- The DAGs of jobs the spec now archives are no longer in their DAG file. Airflow's dag-processor
-- marks such a DAG stale only a parse and [dag_processor] stale_dag_threshold (50 s) after it
-- went missing, and until then the scheduler still starts it on its cron. An idle one is marked
-- stale here at once, as the dag-processor will; the dag-processor clears the mark when the job
-- is restored and its DAG parsed again. One with a queued or running DAG run is left to Airflow:
-- the scheduler no longer looks at the runs of a stale DAG, so that run would never end. A DAG
-- id some live job has is never touched.
UPDATE dag AS d SET is_stale = true
WHERE d.dag_id = ANY(%(dag_ids)s::text[]) AND NOT d.is_stale
  AND NOT EXISTS (SELECT FROM openfn_job AS j WHERE j.dag_id = d.dag_id)
  AND NOT EXISTS (
      SELECT FROM dag_run AS r WHERE r.dag_id = d.dag_id AND r.state IN ('queued', 'running')
  )
RETURNING d.dag_id;

-- list_listening_dags --
-- The DAGs that delivering a message to the (project, trigger) pairs would start: the jobs
-- listening to them (autoprocess on, DAG not paused), as trigger_has_listener decides.
SELECT DISTINCT j.dag_id
FROM jsonb_to_recordset(%(targets)s::jsonb) AS x (project text, trigger text)
JOIN openfn_job AS j ON j.project = x.project AND j.trigger = x.trigger
LEFT JOIN dag AS d ON d.dag_id = j.dag_id
WHERE j.autoprocess AND COALESCE(NOT d.is_paused, j.enabled)
ORDER BY 1;

-- list_message_jobs --
-- For each message, the jobs whose message-filter trigger matches its body now, whatever their
-- switches (a job with autoprocess off is run on a message by hand): the Inbox's play buttons.
SELECT m.id AS message_id, j.name AS job, j.dag_id, j.trigger, j.autoprocess,
       COALESCE(d.is_paused, NOT j.enabled) AS paused
FROM openfn_message AS m
JOIN openfn_trigger AS t ON t.project = m.project
JOIN openfn_job AS j ON j.project = t.project AND j.trigger = t.name
LEFT JOIN dag AS d ON d.dag_id = j.dag_id
WHERE m.id = ANY(%(message_ids)s::bigint[])
  AND m.body @> t.criteria
  AND NOT (t.exclude IS NOT NULL AND m.body @> t.exclude)
ORDER BY m.id, j.name;

-- get_canary_project --
-- When the registry first had the canary, whether its spec is synced now, and whether one of
-- its jobs is switched off (its DAG paused).
SELECT p.created_at, p.spec_hash IS NOT NULL AS registered,
       COALESCE((SELECT bool_or(d.is_paused)
                 FROM openfn_job AS j JOIN dag AS d ON d.dag_id = j.dag_id
                 WHERE j.project = p.name), false) AS paused
FROM openfn_project AS p
WHERE p.name = %(project)s;
