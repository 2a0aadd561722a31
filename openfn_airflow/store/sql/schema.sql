-- The canonical schema of the openfn_* tables, as the migrations leave it.
-- Change a table by adding a migration in store/migrations/ AND updating this file:
-- tests/integration/store/test_schema.py fails until both agree.

CREATE TABLE openfn_project (
    name text PRIMARY KEY,
    inbox_id uuid NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Fingerprint of the spec the registry (openfn_trigger, openfn_job) was last synced from.
    spec_hash text,
    -- Set once an auth method is added, cleared only by an explicit "open": an inbox whose last
    -- method is revoked refuses every request until someone opens it.
    inbox_requires_auth boolean NOT NULL DEFAULT false
);

CREATE TABLE openfn_message (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    body jsonb NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}',
    method text,
    path text,
    query jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    -- Full-text search over the body's strings and numbers; computed in the insert.
    search_vector tsvector,
    idempotency_key text,
    -- The first answer, given again to a repeat with the same idempotency key.
    response jsonb,
    content_type text,
    size_bytes integer,
    -- An OpenRosa submission whose request said *isIncomplete*: its matches are delivered when
    -- the request without it (its last part) arrives.
    incomplete boolean NOT NULL DEFAULT false
);

CREATE INDEX openfn_message_project_id_idx ON openfn_message (project, id);
CREATE UNIQUE INDEX openfn_message_idempotency_key_idx
    ON openfn_message (project, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX openfn_message_search_vector_idx ON openfn_message USING gin (search_vector);
CREATE INDEX openfn_message_body_idx ON openfn_message USING gin (body jsonb_path_ops);
CREATE INDEX openfn_message_project_received_idx
    ON openfn_message (project, received_at DESC, id DESC);
-- A date window over every project (the inbox's default view) and its capped counts.
CREATE INDEX openfn_message_received_idx ON openfn_message (received_at);
-- Messages stored without a search vector (by paths other than the inbox, or edited): the
-- dispatcher fills them in.
CREATE INDEX openfn_message_unindexed_idx ON openfn_message (id) WHERE search_vector IS NULL;
-- 10,000 most common lexemes kept by ANALYZE (not 1,000): rare words are estimated as rare.
ALTER TABLE openfn_message ALTER COLUMN search_vector SET STATISTICS 1000;

-- Earlier bodies of edited messages: who changed them and when.
CREATE TABLE openfn_message_version (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES openfn_message (id) ON DELETE CASCADE,
    body jsonb NOT NULL,
    changed_by text,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX openfn_message_version_message_id_idx ON openfn_message_version (message_id, id);

-- The files of a multipart message but an OpenRosa submission's XML (which is the body): photos,
-- signatures, audio. Position counts from 1 in the order received (over all the parts of a split
-- submission); names are unique per message (an ODK form names its files in the XML). The bytes
-- are in no body, search vector or run state. Photos and audio are compressed already:
-- STORAGE EXTERNAL keeps PostgreSQL from trying again.
CREATE TABLE openfn_attachment (
    message_id bigint NOT NULL REFERENCES openfn_message (id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position > 0),
    name text NOT NULL,
    field text,
    content_type text NOT NULL,
    size integer NOT NULL,
    sha256 text NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (message_id, position),
    UNIQUE (message_id, name)
);
ALTER TABLE openfn_attachment ALTER COLUMN data SET STORAGE EXTERNAL;

-- The message-filter triggers of every project, synced from the specs (inbox/registry.py).
CREATE TABLE openfn_trigger (
    project text NOT NULL,
    name text NOT NULL,
    criteria jsonb NOT NULL,
    exclude jsonb,
    PRIMARY KEY (project, name)
);

-- Every non-archived job of every project, synced from the specs (inbox/registry.py).
CREATE TABLE openfn_job (
    project text NOT NULL,
    name text NOT NULL,
    trigger text,
    autoprocess boolean NOT NULL DEFAULT true,
    runs text NOT NULL DEFAULT 'auto' CHECK (runs IN ('auto', 'per-message', 'batched')),
    dag_id text NOT NULL,
    -- The spec's `enabled` last applied to the DAG's pause, and when a spec change applied it.
    enabled boolean NOT NULL DEFAULT true,
    enabled_changed_at timestamptz,
    PRIMARY KEY (project, name)
);

CREATE INDEX openfn_job_project_trigger_idx ON openfn_job (project, trigger);

-- The outbox: one row per (message, matched trigger), turned into asset events by the dispatcher.
-- Dispatched rows stay: they are the message's matches.
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

-- Inbox auth methods: a project with none active takes any request.
CREATE TABLE openfn_auth_method (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('api_key', 'basic', 'webhook')),
    username text,
    -- api_key: sha256 hex of the key; basic: scrypt hash of the password; webhook: NULL.
    secret_hash text,
    -- webhook: the signing secret encrypted with Airflow's fernet key (it must be read to verify).
    secret_encrypted text,
    -- The last characters of an API key or webhook secret, to tell them apart; '' for basic auth
    -- (no part of a password is kept in the clear).
    secret_hint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz,
    CHECK ((kind = 'basic') = (username IS NOT NULL)),
    CHECK ((kind = 'webhook') = (secret_encrypted IS NOT NULL AND secret_hash IS NULL))
);

CREATE INDEX openfn_auth_method_project_idx ON openfn_auth_method (project)
    WHERE revoked_at IS NULL;

-- Failed inbox logins per project and client address in the current one-minute window: past
-- [openfn] inbox_auth_failures_per_minute the inbox answers 429. Shared by every api-server;
-- UNLOGGED, as a rate limit needs no crash safety.
CREATE UNLOGGED TABLE openfn_auth_failure (
    project text NOT NULL,
    client text NOT NULL,
    window_started_at timestamptz NOT NULL DEFAULT now(),
    failures integer NOT NULL DEFAULT 1,
    PRIMARY KEY (project, client)
);

-- A run log's text as its search reads it, and a search text too: / ? & = # read as spaces, so
-- the parser splits a URL into its host, path segments and query words. replace() rather than
-- translate(): five times as fast on a log of megabytes.
CREATE OR REPLACE FUNCTION openfn_log_text(log text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN replace(replace(replace(replace(replace(log, '/', ' '), '?', ' '), '&', ' '), '=', ' '), '#', ' ');

-- The words of a run log, for its search: its first 8 MiB (8,388,608 characters). A tsvector
-- holds at most 1 MiB of distinct words and more is an error (which would make the run
-- unsaveable): a log with more distinct words than that (an id on every line) is then read 128 Ki
-- characters at a time, each piece ended at a line break so no word is cut in two, until they
-- fill it. When a log is not read to its end, the lexeme ' searchable up to <n>' says how many
-- characters were: no search word matches it (the parser never makes a lexeme that starts with
-- a space), and the run page reads it to say so. Positions are stripped: the search matches
-- words, not phrases.
CREATE OR REPLACE FUNCTION openfn_log_words(log text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    cap constant integer := 8388608;
    piece constant integer := 131072;
    room constant integer := 1000000;
    total constant integer := length(log);
    stop constant integer := least(total, cap);
    words tsvector := '';
    more tsvector;
    part text;
    cut integer;
    pos integer := 1;
BEGIN
    BEGIN
        words := strip(to_tsvector('simple'::regconfig, openfn_log_text(left(log, cap))));
        pos := stop + 1;
    EXCEPTION WHEN program_limit_exceeded THEN
        words := '';
    END;
    WHILE pos <= stop LOOP
        part := substr(log, pos, least(piece, stop - pos + 1));
        IF pos + length(part) <= stop THEN
            cut := strpos(reverse(part), E'\n');
            IF cut = 0 THEN
                cut := strpos(reverse(part), ' ');
            END IF;
            IF cut > 0 THEN
                part := left(part, length(part) - cut + 1);
            END IF;
        END IF;
        more := strip(to_tsvector('simple'::regconfig, openfn_log_text(part)));
        IF pg_column_size(words) + pg_column_size(more) > room THEN
            RETURN words || array_to_tsvector(ARRAY[' searchable up to ' || (pos - 1)]);
        END IF;
        words := words || more;
        pos := pos + length(part);
    END LOOP;
    IF total > stop THEN
        RETURN words || array_to_tsvector(ARRAY[' searchable up to ' || stop]);
    END IF;
    RETURN words;
END
$$;

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
    created_at timestamptz NOT NULL DEFAULT now(),
    -- What ran it: the engine's versions (Python, Airflow; Node, @openfn/runtime, adaptors).
    ran_with text,
    -- The words of its log, what run_search.sql searches (openfn_log_words above).
    log_words tsvector GENERATED ALWAYS AS (openfn_log_words(log)) STORED
);

CREATE INDEX openfn_run_project_job_id_idx ON openfn_run (project, job, id DESC);
-- The cron cursor: the latest successful run of a job.
CREATE INDEX openfn_run_project_job_status_id_idx ON openfn_run (project, job, status, id DESC);
-- A message's runs, newest first, answered from the index (the inbox's latest-run filter); also
-- what ON DELETE SET NULL uses when messages are deleted.
CREATE INDEX openfn_run_message_latest_idx ON openfn_run (message_id, id DESC) INCLUDE (job, status);
CREATE INDEX openfn_run_dag_run_idx ON openfn_run (dag_id, dag_run_id);
-- What ON DELETE SET NULL uses when runs are deleted; most runs are not retries.
CREATE INDEX openfn_run_retry_of_idx ON openfn_run (retry_of) WHERE retry_of IS NOT NULL;
-- Run log search (run_search.sql).
CREATE INDEX openfn_run_log_search_idx ON openfn_run USING gin (log_words);
-- A project's runs by date: usage per day, date-range lists.
CREATE INDEX openfn_run_project_created_at_idx ON openfn_run (project, created_at);
