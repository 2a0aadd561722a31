-- The files of multipart messages (openfn_attachment). The bytes are read only by
-- get_attachment: lists, message pages and job states get their metadata.

-- insert_attachments --
-- A CTE body (receive_message includes it after `stored`) and a statement of its own
-- (add_attachments, with `stored` the one message): the files in the order given, numbered on
-- from the message's last position.
INSERT INTO openfn_attachment (
    message_id, position, name, field, content_type, size, sha256, data
)
SELECT s.id,
       COALESCE((SELECT max(o.position) FROM openfn_attachment AS o WHERE o.message_id = s.id), 0)
           + f.n,
       f.name, f.field, f.content_type, length(f.data), encode(sha256(f.data), 'hex'), f.data
FROM stored AS s
CROSS JOIN unnest(
    %(att_names)s::text[], %(att_fields)s::text[], %(att_types)s::text[], %(att_data)s::bytea[]
) WITH ORDINALITY AS f (name, field, content_type, data, n)
RETURNING position

-- add_attachments --
WITH stored AS (SELECT %(message_id)s::bigint AS id),
added AS (
    /* include insert_attachments */
)
SELECT count(*) AS added FROM added;

-- list_attachments --
-- A message's files without their bytes, in the order received.
SELECT position, name, field, content_type, size, sha256
FROM openfn_attachment
WHERE message_id = %(message_id)s
ORDER BY position;

-- get_attachment --
-- One file with its bytes, by position or by name.
SELECT position, name, field, content_type, size, sha256, data
FROM openfn_attachment
WHERE message_id = %(message_id)s
  AND (position = %(position)s::integer OR name = %(name)s::text);
