-- Inbox auth methods: API keys, basic auth and Standard Webhooks signing secrets.

-- add_auth_method --
-- From now on the inbox needs credentials, also once every method is revoked (until opened).
WITH closed AS (
    UPDATE openfn_project SET inbox_requires_auth = true
    WHERE name = %(project)s AND NOT inbox_requires_auth
)
INSERT INTO openfn_auth_method (project, kind, username, secret_hash, secret_encrypted, secret_hint)
VALUES (
    %(project)s, %(kind)s, %(username)s, %(secret_hash)s, %(secret_encrypted)s, %(secret_hint)s
)
RETURNING id, project, kind, username, NULLIF(secret_hint, '') AS secret_hint, created_at,
          revoked_at, last_used_at;

-- list_auth_methods --
-- Never the secrets.
SELECT id, project, kind, username, NULLIF(secret_hint, '') AS secret_hint, created_at,
       revoked_at, last_used_at
FROM openfn_auth_method
WHERE project = %(project)s AND (%(include_revoked)s OR revoked_at IS NULL)
ORDER BY id;

-- revoke_auth_method --
UPDATE openfn_auth_method
SET revoked_at = now()
WHERE id = %(method_id)s AND project = %(project)s AND revoked_at IS NULL
RETURNING id;

-- get_inbox_state --
-- open: no method was ever added, or someone opened it; protected: an active method; closed: the
-- methods were all revoked and nobody opened it (every request is refused).
SELECT CASE
           WHEN EXISTS (
               SELECT FROM openfn_auth_method AS m
               WHERE m.project = p.name AND m.revoked_at IS NULL
           ) THEN 'protected'
           WHEN p.inbox_requires_auth THEN 'closed'
           ELSE 'open'
       END AS state
FROM openfn_project AS p
WHERE p.name = %(project)s;

-- open_inbox --
-- Only an inbox without active methods: those would still be checked.
UPDATE openfn_project AS p
SET inbox_requires_auth = false
WHERE p.name = %(project)s
  AND NOT EXISTS (
      SELECT FROM openfn_auth_method AS m WHERE m.project = p.name AND m.revoked_at IS NULL
  )
RETURNING p.name;

-- touch_auth_method --
UPDATE openfn_auth_method
SET last_used_at = now()
WHERE id = %(method_id)s
  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- get_active_auth_methods --
-- With their secrets (hashed, or encrypted for webhooks): only the inbox's check reads these.
SELECT id, kind, username, secret_hash, secret_encrypted
FROM openfn_auth_method
WHERE project = %(project)s AND revoked_at IS NULL
ORDER BY id;

-- record_auth_failure --
-- One more failed login of a client at a project's inbox, in a window of one minute from the
-- first failure; returns the window's count and the seconds until it ends. Rows of windows past
-- ten minutes are forgotten now and then (1 in 100 failures), so the table stays small.
WITH forgotten AS (
    DELETE FROM openfn_auth_failure
    WHERE window_started_at < now() - interval '10 minutes'
      AND (project, client) <> (%(project)s, %(client)s)  -- a row is changed once a statement
      AND (SELECT random()) < 0.01  -- once for the statement, not per row
)
INSERT INTO openfn_auth_failure AS f (project, client, window_started_at, failures)
VALUES (%(project)s, %(client)s, now(), 1)
ON CONFLICT (project, client) DO UPDATE
SET failures = CASE WHEN f.window_started_at > now() - interval '1 minute'
                    THEN f.failures + 1 ELSE 1 END,
    window_started_at = CASE WHEN f.window_started_at > now() - interval '1 minute'
                             THEN f.window_started_at ELSE now() END
RETURNING failures,
          GREATEST(1, ceil(extract(epoch FROM window_started_at + interval '1 minute' - now())))::int
              AS retry_after;
