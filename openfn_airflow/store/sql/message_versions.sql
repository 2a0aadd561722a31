-- Edits of a message body, each keeping the body it replaced.

-- edit_message_body --
-- Keeps the current body as a version (who, when), then stores the new one and its search
-- vector (computed as insert_message does). Nothing changes when the body is the same.
WITH previous AS (
    SELECT id, body FROM openfn_message WHERE id = %(message_id)s FOR UPDATE
),
changed AS (
    SELECT id, body FROM previous WHERE body IS DISTINCT FROM %(body)s::jsonb
),
version AS (
    INSERT INTO openfn_message_version (message_id, body, changed_by)
    SELECT id, body, %(changed_by)s FROM changed
    RETURNING id
)
UPDATE openfn_message AS m
SET body = %(body)s::jsonb,
    search_vector = jsonb_to_tsvector('simple', %(body)s::jsonb, '["string", "numeric"]')
FROM changed
WHERE m.id = changed.id
RETURNING (SELECT id FROM version) AS version_id;

-- list_message_versions --
SELECT id, body, changed_by, changed_at
FROM openfn_message_version
WHERE message_id = %(message_id)s
ORDER BY id DESC;
