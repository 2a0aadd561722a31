-- Migration 0010: the whole run log is searchable, and words inside URLs are words. Frozen once
-- released.
--
-- 0003 indexed to_tsvector(left(log, 262144)): only a log's first 256 KiB, and PostgreSQL's
-- parser keeps a URL as one token ("patients" did not find POST https://host/api/patients).
-- openfn_log_words reads up to 8 MiB of a log through openfn_log_text, which splits URLs into
-- words; run_search.sql reads a search text through it too.
--
-- A stored column rather than an expression index: a filter that does not use the index (a
-- message's runs, a job's newest runs) reads the stored words instead of parsing megabytes of
-- log per row. Adding the column rewrites openfn_run, which indexes every existing run anew.
--
-- The function is created with OR REPLACE because `airflow db reset` drops our tables, not our
-- functions.

-- upgrade --
-- A run log's text as its search reads it, and a search text too: / ? & = # read as spaces, so
-- the parser splits a URL into its host, path segments and query words. replace() rather than
-- translate(): five times as fast on a log of megabytes.
CREATE OR REPLACE FUNCTION openfn_log_text(log text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN replace(replace(replace(replace(replace(log, '/', ' '), '?', ' '), '&', ' '), '=', ' '), '#', ' ');

-- The words of a run log, for its search: its first 8 MiB (8,388,608 characters). A tsvector
-- holds at most 1 MiB of distinct words and more is an error (which would make the run
-- unsaveable): a log with more distinct words than that (an id on every line) is then read 128 Ki
-- characters at a time, each piece ended at a line break so no word is cut in two, until they
-- fill it. When a log is not read to its end, the lexeme ' searchable up to <n>' says how many
-- characters were: no search word matches it (the parser never makes a lexeme that starts with
-- a space), and the run page reads it to say so. Positions are stripped: the search matches
-- words, not phrases.
CREATE OR REPLACE FUNCTION openfn_log_words(log text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    cap constant integer := 8388608;
    piece constant integer := 131072;
    room constant integer := 1000000;
    total constant integer := length(log);
    stop constant integer := least(total, cap);
    words tsvector := '';
    more tsvector;
    part text;
    cut integer;
    pos integer := 1;
BEGIN
    BEGIN
        words := strip(to_tsvector('simple'::regconfig, openfn_log_text(left(log, cap))));
        pos := stop + 1;
    EXCEPTION WHEN program_limit_exceeded THEN
        words := '';
    END;
    WHILE pos <= stop LOOP
        part := substr(log, pos, least(piece, stop - pos + 1));
        IF pos + length(part) <= stop THEN
            cut := strpos(reverse(part), E'\n');
            IF cut = 0 THEN
                cut := strpos(reverse(part), ' ');
            END IF;
            IF cut > 0 THEN
                part := left(part, length(part) - cut + 1);
            END IF;
        END IF;
        more := strip(to_tsvector('simple'::regconfig, openfn_log_text(part)));
        IF pg_column_size(words) + pg_column_size(more) > room THEN
            RETURN words || array_to_tsvector(ARRAY[' searchable up to ' || (pos - 1)]);
        END IF;
        words := words || more;
        pos := pos + length(part);
    END LOOP;
    IF total > stop THEN
        RETURN words || array_to_tsvector(ARRAY[' searchable up to ' || stop]);
    END IF;
    RETURN words;
END
$$;

DROP INDEX openfn_run_log_search_idx;
ALTER TABLE openfn_run
    ADD COLUMN log_words tsvector GENERATED ALWAYS AS (openfn_log_words(log)) STORED;
CREATE INDEX openfn_run_log_search_idx ON openfn_run USING gin (log_words);

-- downgrade --
DROP INDEX openfn_run_log_search_idx;
ALTER TABLE openfn_run DROP COLUMN log_words;
DROP FUNCTION openfn_log_words(text);
DROP FUNCTION openfn_log_text(text);
CREATE INDEX openfn_run_log_search_idx
    ON openfn_run USING gin (to_tsvector('simple'::regconfig, left(log, 262144)));
