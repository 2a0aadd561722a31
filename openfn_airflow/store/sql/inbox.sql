-- What the inbox runs per request: find the project and its auth methods, then store the message
-- and its dispatch rows in one statement (one round trip, one transaction in autocommit).

-- get_inbox --
-- Also whether it needs credentials without active methods (closed), and the client's failed
-- logins in the current minute (the rate limit, read here so that no request pays a round trip).
SELECT p.name AS project,
       p.inbox_requires_auth AS requires_auth,
       COALESCE(f.failures, 0) AS failures,
       GREATEST(1, ceil(extract(epoch FROM f.window_started_at + interval '1 minute' - now())))::int
           AS retry_after,
       COALESCE(
           jsonb_agg(
               jsonb_build_object(
                   'id', m.id, 'kind', m.kind, 'username', m.username,
                   'secret_hash', m.secret_hash, 'secret_encrypted', m.secret_encrypted
               ) ORDER BY m.id
           ) FILTER (WHERE m.id IS NOT NULL),
           '[]'::jsonb
       ) AS auth_methods
FROM openfn_project AS p
LEFT JOIN openfn_auth_method AS m ON m.project = p.name AND m.revoked_at IS NULL
LEFT JOIN openfn_auth_failure AS f
    ON f.project = p.name AND f.client = %(client)s
   AND f.window_started_at > now() - interval '1 minute'
WHERE p.inbox_id = %(inbox_id)s::uuid
GROUP BY p.name, f.project, f.client;

-- receive_message --
-- A repeat of an idempotency key seen in the last 24 h stores nothing and returns the first answer
-- (previous). Otherwise the message is stored with its answer (response), its files (the arrays
-- att_*, in order) and one dispatch row per matching trigger with at least one listening job: on,
-- autoprocess on, DAG not paused (a DAG not parsed yet counts as listening: the dispatcher waits
-- for its asset); an incomplete OpenRosa submission gets its dispatch rows when its last part
-- comes (complete_submission). Both null: a concurrent request holds the key, or an expired
-- message does (expire it and run this again).
WITH input AS MATERIALIZED (
    -- The body is parsed once here, not once per use.
    SELECT %(body)s::jsonb AS body
),
prior AS (
    SELECT response
    FROM openfn_message
    WHERE %(idempotency_key)s::text IS NOT NULL
      AND project = %(project)s
      AND idempotency_key = %(idempotency_key)s::text
      AND received_at > now() - interval '24 hours'
),
matched AS (
    SELECT t.name
    FROM openfn_trigger AS t, input AS i
    WHERE t.project = %(project)s
      AND NOT EXISTS (SELECT FROM prior)
      AND i.body @> t.criteria
      AND NOT (t.exclude IS NOT NULL AND i.body @> t.exclude)
      AND /* include trigger_has_listener */
),
new_message AS (
    SELECT nextval(pg_get_serial_sequence('openfn_message', 'id')) AS id
    WHERE NOT EXISTS (SELECT FROM prior)
),
stored AS (
    INSERT INTO openfn_message (
        id, project, body, headers, method, path, query, search_vector, idempotency_key,
        response, content_type, size_bytes, incomplete
    )
    OVERRIDING SYSTEM VALUE
    SELECT n.id, %(project)s, i.body, %(headers)s, %(method)s, %(path)s, %(query)s,
           CASE WHEN %(index_now)s
                THEN jsonb_to_tsvector('simple', i.body, '["string", "numeric"]') END,
           %(idempotency_key)s::text,
           jsonb_build_object(
               'message_id', n.id,
               'matched', CASE WHEN %(incomplete)s THEN '[]'::jsonb ELSE
                   (SELECT COALESCE(jsonb_agg(name ORDER BY name), '[]'::jsonb) FROM matched) END
           ),
           %(content_type)s, %(size_bytes)s, %(incomplete)s
    FROM new_message AS n, input AS i
    ON CONFLICT (project, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id, response
),
attached AS (
    /* include insert_attachments */
),
dispatched AS (
    INSERT INTO openfn_dispatch (message_id, project, trigger)
    SELECT s.id, %(project)s, m.name
    FROM stored AS s CROSS JOIN matched AS m
    WHERE NOT %(incomplete)s
    RETURNING id
),
notified AS (
    SELECT pg_notify('openfn_dispatch', '') FROM (SELECT FROM dispatched LIMIT 1) AS any_row
)
SELECT (SELECT response FROM stored) AS response,
       (SELECT response FROM prior) AS previous,
       (SELECT count(*) FROM attached) AS attached,
       (SELECT count(*) FROM notified) AS notified;

-- lock_submission --
-- The message a later part of a split OpenRosa submission (the same instanceID) belongs to,
-- locked until the part is stored; same_body: its XML is the one first received (before edits).
SELECT m.id, m.incomplete,
       COALESCE(
           (SELECT v.body FROM openfn_message_version AS v
            WHERE v.message_id = m.id ORDER BY v.id LIMIT 1),
           m.body
       ) = %(body)s::jsonb AS same_body
FROM openfn_message AS m
WHERE m.id = %(message_id)s AND m.project = %(project)s
FOR UPDATE OF m;

-- complete_submission --
-- Its last part came: it is no longer waiting, and its answer says where it was delivered.
UPDATE openfn_message
SET incomplete = false,
    response = jsonb_set(COALESCE(response, '{}'::jsonb), '{matched}', %(matched)s)
WHERE id = %(message_id)s AND incomplete;

-- expire_idempotency_key --
-- A key older than 24 h may be used again: the old message keeps its row but not the key.
UPDATE openfn_message
SET idempotency_key = NULL
WHERE project = %(project)s AND idempotency_key = %(idempotency_key)s
  AND received_at <= now() - interval '24 hours';
