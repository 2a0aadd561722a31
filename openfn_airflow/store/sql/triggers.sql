-- Conditions on openfn_trigger rows shared by the inbox, "process now" and bulk reprocess.
--
-- trigger_has_listener: trigger t (the alias) has at least one job listening to it: autoprocess
-- on and on, which is its DAG unpaused (the one switch; the spec's `enabled` reaches it through
-- inbox/registry.py). A DAG Airflow has not parsed yet will be created paused exactly when the
-- spec says enabled: false, so until then that decides. Airflow drops asset events for a paused
-- DAG for good, so nothing is delivered to a trigger without a listener.

-- trigger_has_listener --
EXISTS (
    SELECT FROM openfn_job AS j
    LEFT JOIN dag AS d ON d.dag_id = j.dag_id
    WHERE j.project = t.project AND j.trigger = t.name AND j.autoprocess
      AND COALESCE(NOT d.is_paused, j.enabled)
)
