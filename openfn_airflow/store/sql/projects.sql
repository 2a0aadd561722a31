-- Projects known to the database, each with the inbox id its URL is built from.

-- ensure_project --
-- A given inbox id replaces the stored one; without one, the stored id is kept (or the
-- generated one stored, the first time).
INSERT INTO openfn_project AS p (name, inbox_id)
VALUES (%(name)s, COALESCE(%(inbox_id)s::uuid, %(generated_inbox_id)s::uuid))
ON CONFLICT (name) DO UPDATE SET inbox_id = COALESCE(%(inbox_id)s::uuid, p.inbox_id)
RETURNING inbox_id;

-- get_project --
SELECT name, inbox_id, created_at
FROM openfn_project
WHERE name = %(name)s;

-- get_project_by_inbox --
SELECT name, inbox_id, created_at
FROM openfn_project
WHERE inbox_id = %(inbox_id)s::uuid;

-- list_projects --
SELECT name, inbox_id, created_at FROM openfn_project ORDER BY name;
