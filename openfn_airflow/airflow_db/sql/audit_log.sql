-- Airflow's audit log (the log table): who last switched a job on or off through Airflow.

-- list_switch_changes --
-- The latest pause or unpause of each DAG through Airflow's REST API (its UI and the Jobs
-- screen both use PATCH /api/v2/dags/{dag_id}), from Airflow's audit log.
SELECT DISTINCT ON (dag_id) dag_id, dttm, owner, owner_display_name, extra
FROM log
WHERE dag_id = ANY(%(dag_ids)s::text[]) AND event = 'patch_dag'
  AND extra LIKE '%%"is_paused"%%'
ORDER BY dag_id, dttm DESC, id DESC;
