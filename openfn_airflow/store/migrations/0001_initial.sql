-- Migration 0001: the first openfn_* tables. Frozen once released: change the schema in a new
-- migration (and in sql/schema.sql), never here.

-- upgrade --
CREATE TABLE openfn_project (
    name text PRIMARY KEY,
    inbox_id uuid NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE openfn_message (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    body jsonb NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}',
    method text,
    path text,
    query jsonb,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX openfn_message_project_id_idx ON openfn_message (project, id);

CREATE TABLE openfn_run (
    -- Monotonic: bulk retry selects id ranges.
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    job text NOT NULL,
    message_id bigint REFERENCES openfn_message (id) ON DELETE SET NULL,
    trigger text NOT NULL
        CHECK (trigger IN ('message', 'cron', 'success', 'failure', 'manual', 'retry')),
    dag_id text,
    dag_run_id text,
    task_id text,
    try_number integer,
    map_index integer NOT NULL DEFAULT -1,
    started_at timestamptz,
    finished_at timestamptz,
    status text NOT NULL
        CHECK (status IN ('pending', 'running', 'success', 'failed', 'killed', 'crashed', 'lost')),
    exit_code integer,
    log text NOT NULL DEFAULT '',
    initial_state jsonb,
    final_state jsonb,
    retry_of bigint REFERENCES openfn_run (id) ON DELETE SET NULL,
    -- The run whose success or failure triggered this one; no foreign key, so retention can
    -- delete an upstream run without touching the history of the runs it started.
    upstream_run_id bigint,
    bundle_version text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX openfn_run_project_job_id_idx ON openfn_run (project, job, id DESC);
-- The cron cursor: the latest successful run of a job.
CREATE INDEX openfn_run_project_job_status_id_idx ON openfn_run (project, job, status, id DESC);
-- Also what ON DELETE SET NULL uses when messages are deleted.
CREATE INDEX openfn_run_message_id_idx ON openfn_run (message_id);
CREATE INDEX openfn_run_dag_run_idx ON openfn_run (dag_id, dag_run_id);
-- What ON DELETE SET NULL uses when runs are deleted; most runs are not retries.
CREATE INDEX openfn_run_retry_of_idx ON openfn_run (retry_of) WHERE retry_of IS NOT NULL;

-- downgrade --
DROP TABLE openfn_run;
DROP TABLE openfn_message;
DROP TABLE openfn_project;
