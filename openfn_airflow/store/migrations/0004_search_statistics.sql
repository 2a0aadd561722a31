-- Migration 0004: the message search estimates well how many messages hold a word, so the planner
-- picks the GIN index for a rare word. Frozen once released.

-- upgrade --
-- ANALYZE keeps the 10 x target most common lexemes of search_vector with their frequencies, and
-- the planner puts any other word at half the rarest kept one's frequency. At the default target
-- (100) a word held by 300 of 1M messages looked ten times commoner than it is: the planner then
-- read the newest messages one by one (160,000 of them, 150-250 ms) instead of the GIN index
-- (under 5 ms). The column-only ANALYZE samples at most 300,000 rows whatever the table's size.
ALTER TABLE openfn_message ALTER COLUMN search_vector SET STATISTICS 1000;
ANALYZE openfn_message (search_vector);

-- downgrade --
ALTER TABLE openfn_message ALTER COLUMN search_vector SET STATISTICS -1;
