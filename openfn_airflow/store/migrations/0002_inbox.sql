-- Migration 0002: the inbox. Messages become searchable and idempotent, and gain the tables the
-- inbox needs: the registry of triggers and jobs synced from the specs, the dispatch outbox,
-- inbox auth methods and the edit history of message bodies. Frozen once released.

-- upgrade --
ALTER TABLE openfn_project
    ADD COLUMN spec_hash text;

ALTER TABLE openfn_message
    ADD COLUMN search_vector tsvector,
    ADD COLUMN idempotency_key text,
    ADD COLUMN response jsonb,
    ADD COLUMN content_type text,
    ADD COLUMN size_bytes integer;

CREATE UNIQUE INDEX openfn_message_idempotency_key_idx
    ON openfn_message (project, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX openfn_message_search_vector_idx ON openfn_message USING gin (search_vector);
CREATE INDEX openfn_message_body_idx ON openfn_message USING gin (body jsonb_path_ops);
CREATE INDEX openfn_message_project_received_idx
    ON openfn_message (project, received_at DESC, id DESC);
CREATE INDEX openfn_message_unindexed_idx ON openfn_message (id) WHERE search_vector IS NULL;

CREATE TABLE openfn_message_version (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES openfn_message (id) ON DELETE CASCADE,
    body jsonb NOT NULL,
    changed_by text,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX openfn_message_version_message_id_idx ON openfn_message_version (message_id, id);

CREATE TABLE openfn_trigger (
    project text NOT NULL,
    name text NOT NULL,
    criteria jsonb NOT NULL,
    exclude jsonb,
    PRIMARY KEY (project, name)
);

CREATE TABLE openfn_job (
    project text NOT NULL,
    name text NOT NULL,
    trigger text,
    autoprocess boolean NOT NULL DEFAULT true,
    runs text NOT NULL DEFAULT 'per-message' CHECK (runs IN ('per-message', 'batched')),
    dag_id text NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    PRIMARY KEY (project, name)
);

CREATE INDEX openfn_job_project_trigger_idx ON openfn_job (project, trigger);

CREATE TABLE openfn_dispatch (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES openfn_message (id) ON DELETE CASCADE,
    project text NOT NULL,
    trigger text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    not_before timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz,
    last_error text
);

-- What the dispatcher claims: only pending rows, so dispatched history does not slow it down.
CREATE INDEX openfn_dispatch_pending_idx ON openfn_dispatch (not_before, id)
    WHERE dispatched_at IS NULL;
-- A message's matches, and what ON DELETE CASCADE uses.
CREATE INDEX openfn_dispatch_message_id_idx ON openfn_dispatch (message_id);

CREATE TABLE openfn_auth_method (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('api_key', 'basic', 'webhook')),
    username text,
    -- api_key: sha256 hex of the key; basic: scrypt hash of the password; webhook: NULL.
    secret_hash text,
    -- webhook: the signing secret encrypted with Airflow's fernet key (it must be read to verify).
    secret_encrypted text,
    secret_hint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz,
    CHECK ((kind = 'basic') = (username IS NOT NULL)),
    CHECK ((kind = 'webhook') = (secret_encrypted IS NOT NULL AND secret_hash IS NULL))
);

CREATE INDEX openfn_auth_method_project_idx ON openfn_auth_method (project)
    WHERE revoked_at IS NULL;

-- downgrade --
DROP TABLE openfn_auth_method;
DROP TABLE openfn_dispatch;
DROP TABLE openfn_job;
DROP TABLE openfn_trigger;
DROP TABLE openfn_message_version;
DROP INDEX openfn_message_unindexed_idx;
DROP INDEX openfn_message_project_received_idx;
DROP INDEX openfn_message_body_idx;
DROP INDEX openfn_message_search_vector_idx;
DROP INDEX openfn_message_idempotency_key_idx;
ALTER TABLE openfn_message
    DROP COLUMN size_bytes,
    DROP COLUMN content_type,
    DROP COLUMN response,
    DROP COLUMN idempotency_key,
    DROP COLUMN search_vector;
ALTER TABLE openfn_project
    DROP COLUMN spec_hash;
