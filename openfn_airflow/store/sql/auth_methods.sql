-- Inbox auth methods: API keys, basic auth and Standard Webhooks signing secrets.

-- add_auth_method --
INSERT INTO openfn_auth_method (project, kind, username, secret_hash, secret_encrypted, secret_hint)
VALUES (
    %(project)s, %(kind)s, %(username)s, %(secret_hash)s, %(secret_encrypted)s, %(secret_hint)s
)
RETURNING id, project, kind, username, secret_hint, created_at, revoked_at, last_used_at;

-- list_auth_methods --
-- Never the secrets.
SELECT id, project, kind, username, secret_hint, created_at, revoked_at, last_used_at
FROM openfn_auth_method
WHERE project = %(project)s AND (%(include_revoked)s OR revoked_at IS NULL)
ORDER BY id;

-- revoke_auth_method --
UPDATE openfn_auth_method
SET revoked_at = now()
WHERE id = %(method_id)s AND project = %(project)s AND revoked_at IS NULL
RETURNING id;

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
