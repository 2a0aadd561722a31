-- Migration 0011: the files of a multipart message (an ODK submission's photos, signatures,
-- audio) are stored with it, and an OpenRosa submission split over several requests waits for
-- its last part. Frozen once released.
--
-- openfn_attachment holds each file part but the submission's XML (which is the body): where
-- it came in (position, from 1, in the order received over all parts of a submission), its file
-- name (unique per message: an ODK form names its files in the XML), the form field, the type
-- as sent, size, sha256 (hex) and the bytes. The bytes never enter the body, its search vector
-- or a run's state. It goes with its message (ON DELETE CASCADE; retention deletes it
-- explicitly too, to count it). STORAGE EXTERNAL: photos and audio are compressed already, so
-- PostgreSQL does not try (and fail) to compress them again.
--
-- openfn_message.incomplete: an OpenRosa submission whose request said *isIncomplete* (ODK
-- Collect splits a submission bigger than the inbox's limit): its matches are delivered once
-- the request without it arrives.

-- upgrade --
ALTER TABLE openfn_message ADD COLUMN incomplete boolean NOT NULL DEFAULT false;

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

-- downgrade --
DROP TABLE openfn_attachment;
ALTER TABLE openfn_message DROP COLUMN incomplete;
