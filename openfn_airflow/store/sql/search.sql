-- Full-text search shared by the message and run searches.

-- prefix_tsquery --
-- The words of text, each matched as a word prefix, all required ("pati reg" finds
-- "patient registration"). Built from to_tsvector's lexemes, so no user text is ever parsed as
-- tsquery syntax: a stripped tsvector prints as 'lex1' 'lex2' ..., each lexeme quoted and
-- escaped exactly as a tsquery operand is, so joining them with ':* & ' makes the tsquery.
-- NULL (matches nothing) when it has no words. Immutable functions only, no subquery: the
-- planner folds it into a constant and estimates from the column's statistics how many rows
-- match (as a subquery it was an InitPlan the planner cannot see into: it then guessed, and
-- scanned 1M messages newest first for a word that few of them hold).
(replace(NULLIF(strip(to_tsvector('simple'::regconfig, %(text)s::text))::text, ''),
         ''' ''', ''':* & ''') || ':*')::tsquery
