-- Migration 0007: an inbox stays closed when its last auth method is revoked; failed inbox
-- logins are counted; stored request paths lose the inbox id. Frozen once released.
--
-- inbox_requires_auth is set when a method is added and cleared only by an explicit "open".
-- Inboxes with an active method now are marked; one whose methods were all revoked before this
-- migration is open today and stays open (closing it would silently refuse a sender that relies
-- on it): the settings screen says so. The failure counter is UNLOGGED: it is a rate limit, not a
-- record, and losing it in a crash costs one more minute of guesses. The inbox URL is a
-- credential of an open inbox: paths stored before now are rewritten as the inbox now stores
-- them (`/openfn/inbox/{inbox}/...`), in messages and in the request of runs' states. The last
-- characters of basic-auth passwords, kept to tell methods apart, are forgotten: no part of a
-- password is kept in the clear (API keys keep theirs).

-- upgrade --
ALTER TABLE openfn_project
    ADD COLUMN inbox_requires_auth boolean NOT NULL DEFAULT false;

UPDATE openfn_project AS p
SET inbox_requires_auth = true
WHERE EXISTS (
    SELECT FROM openfn_auth_method AS m WHERE m.project = p.name AND m.revoked_at IS NULL
);

UPDATE openfn_auth_method SET secret_hint = '' WHERE kind = 'basic';

CREATE UNLOGGED TABLE openfn_auth_failure (
    project text NOT NULL,
    client text NOT NULL,
    window_started_at timestamptz NOT NULL DEFAULT now(),
    failures integer NOT NULL DEFAULT 1,
    PRIMARY KEY (project, client)
);

UPDATE openfn_message
SET path = regexp_replace(path, '/inbox/[^/]+', '/inbox/{inbox}')
WHERE path ~ '/inbox/[^/{]';

UPDATE openfn_run
SET initial_state = jsonb_set(
        initial_state, '{request,path}',
        to_jsonb(regexp_replace(initial_state #>> '{request,path}', '/inbox/[^/]+', '/inbox/{inbox}'))
    )
WHERE initial_state #>> '{request,path}' ~ '/inbox/[^/{]';

UPDATE openfn_run
SET final_state = jsonb_set(
        final_state, '{request,path}',
        to_jsonb(regexp_replace(final_state #>> '{request,path}', '/inbox/[^/]+', '/inbox/{inbox}'))
    )
WHERE final_state #>> '{request,path}' ~ '/inbox/[^/{]';

-- downgrade --
DROP TABLE openfn_auth_failure;
ALTER TABLE openfn_project DROP COLUMN inbox_requires_auth;
