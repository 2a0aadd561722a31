-- The registry: each project's message-filter triggers and jobs, synced from its spec, so the
-- inbox matches messages in SQL without reading specs.

-- lock_registry --
-- Held by a sync until its transaction ends: concurrent syncs (every api-server) take turns.
SELECT pg_advisory_xact_lock(%(key)s);

-- get_spec_hashes --
SELECT name, spec_hash FROM openfn_project;

-- sync_project --
-- The spec's fixed inbox id replaces the stored one; without one the stored id is kept, or the
-- generated one stored the first time.
INSERT INTO openfn_project AS p (name, inbox_id, spec_hash)
VALUES (%(name)s, COALESCE(%(inbox_id)s::uuid, %(generated_inbox_id)s::uuid), %(spec_hash)s)
ON CONFLICT (name) DO UPDATE
SET inbox_id = COALESCE(%(inbox_id)s::uuid, p.inbox_id), spec_hash = EXCLUDED.spec_hash
RETURNING inbox_id;

-- delete_triggers_except --
DELETE FROM openfn_trigger
WHERE project = %(project)s AND NOT (name = ANY(%(names)s::text[]));

-- upsert_triggers --
INSERT INTO openfn_trigger AS t (project, name, criteria, exclude)
SELECT %(project)s, name, criteria, exclude
FROM jsonb_to_recordset(%(triggers)s::jsonb) AS r (name text, criteria jsonb, exclude jsonb)
ON CONFLICT (project, name) DO UPDATE
SET criteria = EXCLUDED.criteria, exclude = EXCLUDED.exclude
WHERE (t.criteria, t.exclude) IS DISTINCT FROM (EXCLUDED.criteria, EXCLUDED.exclude);

-- delete_jobs_except --
DELETE FROM openfn_job
WHERE project = %(project)s AND NOT (name = ANY(%(names)s::text[]));

-- upsert_jobs --
INSERT INTO openfn_job AS j (project, name, trigger, autoprocess, runs, dag_id, enabled)
SELECT %(project)s, name, trigger, autoprocess, runs, dag_id, enabled
FROM jsonb_to_recordset(%(jobs)s::jsonb)
    AS r (name text, trigger text, autoprocess boolean, runs text, dag_id text, enabled boolean)
ON CONFLICT (project, name) DO UPDATE
SET trigger = EXCLUDED.trigger, autoprocess = EXCLUDED.autoprocess, runs = EXCLUDED.runs,
    dag_id = EXCLUDED.dag_id, enabled = EXCLUDED.enabled
WHERE (j.trigger, j.autoprocess, j.runs, j.dag_id, j.enabled)
    IS DISTINCT FROM (EXCLUDED.trigger, EXCLUDED.autoprocess, EXCLUDED.runs, EXCLUDED.dag_id,
                      EXCLUDED.enabled);

-- forget_projects_except --
-- Projects whose spec is gone keep their row (and inbox id, and messages) but match nothing.
WITH gone AS (
    SELECT name FROM openfn_project
    WHERE spec_hash IS NOT NULL AND NOT (name = ANY(%(names)s::text[]))
),
dropped_triggers AS (
    DELETE FROM openfn_trigger WHERE project IN (SELECT name FROM gone)
),
dropped_jobs AS (
    DELETE FROM openfn_job WHERE project IN (SELECT name FROM gone)
)
UPDATE openfn_project SET spec_hash = NULL
WHERE name IN (SELECT name FROM gone)
RETURNING name;

-- list_triggers --
SELECT name, criteria, exclude FROM openfn_trigger WHERE project = %(project)s ORDER BY name;

-- list_jobs --
SELECT name, trigger, autoprocess, runs, dag_id, enabled, enabled_changed_at
FROM openfn_job WHERE project = %(project)s ORDER BY name;

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

-- list_trigger_jobs --
-- The jobs the registry has on a message-filter trigger: the only ones the dispatcher delivers to.
SELECT name, runs FROM openfn_job WHERE project = %(project)s AND trigger = %(trigger)s;

-- list_job_modes --
SELECT name, runs FROM openfn_job WHERE project = %(project)s;

-- list_switch_changes --
-- The latest pause or unpause of each DAG through Airflow's REST API (its UI and the Jobs
-- screen both use PATCH /api/v2/dags/{dag_id}), from Airflow's audit log.
SELECT DISTINCT ON (dag_id) dag_id, dttm, owner, owner_display_name, extra
FROM log
WHERE dag_id = ANY(%(dag_ids)s::text[]) AND event = 'patch_dag'
  AND extra LIKE '%%"is_paused"%%'
ORDER BY dag_id, dttm DESC, id DESC;

-- list_all_jobs --
-- Every job of every project with its DAG: what the auth manager is asked about.
SELECT project, name, dag_id, trigger FROM openfn_job ORDER BY project, name;

-- list_listening_dags --
-- The DAGs that delivering a message to the (project, trigger) pairs would start: the jobs
-- listening to them (autoprocess on, DAG not paused), as trigger_has_listener decides.
SELECT DISTINCT j.dag_id
FROM jsonb_to_recordset(%(targets)s::jsonb) AS x (project text, trigger text)
JOIN openfn_job AS j ON j.project = x.project AND j.trigger = x.trigger
LEFT JOIN dag AS d ON d.dag_id = j.dag_id
WHERE j.autoprocess AND COALESCE(NOT d.is_paused, j.enabled)
ORDER BY 1;

-- list_body_trigger_dags --
-- The DAGs of the project's jobs (any switch) whose message-filter trigger matches one of the
-- bodies: the jobs a message with one of these bodies can start, now or by hand.
SELECT DISTINCT j.dag_id
FROM openfn_trigger AS t
JOIN openfn_job AS j ON j.project = t.project AND j.trigger = t.name
CROSS JOIN jsonb_array_elements(%(bodies)s::jsonb) AS b (body)
WHERE t.project = %(project)s
  AND b.body @> t.criteria
  AND NOT (t.exclude IS NOT NULL AND b.body @> t.exclude)
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
