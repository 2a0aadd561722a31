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

-- list_trigger_jobs --
-- The jobs the registry has on a message-filter trigger: the only ones the dispatcher delivers to.
SELECT name, runs FROM openfn_job WHERE project = %(project)s AND trigger = %(trigger)s;

-- list_job_modes --
SELECT name, runs FROM openfn_job WHERE project = %(project)s;

-- list_all_jobs --
-- Every job of every project with its DAG: what the auth manager is asked about.
SELECT project, name, dag_id, trigger FROM openfn_job ORDER BY project, name;

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
