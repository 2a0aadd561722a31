-- Full-text search shared by the message and run searches.

-- prefix_tsquery --
-- The words of text, each matched as a word prefix, all required ("pati reg" finds
-- "patient registration"). Built from to_tsvector's lexemes, each quoted as a tsquery operand,
-- so no user text is ever parsed as tsquery syntax. NULL (matches nothing) when it has no words.
(SELECT string_agg(
            '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''':*', ' & '
        )::tsquery
 FROM unnest(to_tsvector('simple'::regconfig, %(text)s::text)))
