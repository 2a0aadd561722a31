-- Conditions on openfn_trigger rows shared by the inbox, "process now" and bulk reprocess.
--
-- trigger_has_listener: trigger t (the alias) has at least one job listening to it: on,
-- autoprocess on, its DAG not paused. Airflow drops asset events for a paused DAG for good, so
-- nothing is delivered to a trigger without a listener.

-- trigger_has_listener --
EXISTS (
    SELECT FROM openfn_job AS j
    LEFT JOIN dag AS d ON d.dag_id = j.dag_id
    WHERE j.project = t.project AND j.trigger = t.name AND j.enabled AND j.autoprocess
      AND NOT COALESCE(d.is_paused, false)
)
