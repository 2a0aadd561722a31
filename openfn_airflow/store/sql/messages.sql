-- Messages received by a project's inbox.

-- insert_message --
INSERT INTO openfn_message (project, body, headers, method, path, query, search_vector)
VALUES (
    %(project)s, %(body)s, %(headers)s, %(method)s, %(path)s, %(query)s,
    jsonb_to_tsvector('simple', %(body)s::jsonb, '["string", "numeric"]')
)
RETURNING id;

-- get_message --
SELECT id, project, body, headers, method, path, query, received_at, incomplete
FROM openfn_message
WHERE id = %(message_id)s;

-- get_messages --
-- With the metadata of their files (never the bytes), what a job's state names.
SELECT m.id, m.project, m.body, m.headers, m.method, m.path, m.query, m.received_at,
       (SELECT COALESCE(
                   jsonb_agg(
                       jsonb_build_object(
                           'position', a.position, 'name', a.name, 'field', a.field,
                           'content_type', a.content_type, 'size', a.size, 'sha256', a.sha256
                       ) ORDER BY a.position
                   ),
                   '[]'::jsonb
               )
        FROM openfn_attachment AS a WHERE a.message_id = m.id) AS attachments
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS wanted (id, position)
JOIN openfn_message AS m ON m.id = wanted.id
ORDER BY wanted.position;
