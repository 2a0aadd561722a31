-- Messages received by a project's inbox.

-- insert_message --
INSERT INTO openfn_message (project, body, headers, method, path, query, search_vector)
VALUES (
    %(project)s, %(body)s, %(headers)s, %(method)s, %(path)s, %(query)s,
    jsonb_to_tsvector('simple', %(body)s::jsonb, '["string", "numeric"]')
)
RETURNING id;

-- get_message --
SELECT id, project, body, headers, method, path, query, received_at
FROM openfn_message
WHERE id = %(message_id)s;

-- get_messages --
SELECT m.id, m.project, m.body, m.headers, m.method, m.path, m.query, m.received_at
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS wanted (id, position)
JOIN openfn_message AS m ON m.id = wanted.id
ORDER BY wanted.position;
