-- An event's identity is (source, id), as CloudEvents defines it: two systems may use the same
-- id for different events of one interaction, and sorting by (subject, id) alone would merge
-- one of them away. ClickHouse can extend a sorting key only with a column added in the same
-- statement and without a default, so the writer fills `source_identity` with the source
-- (rows stored before this migration keep '' and were already one per (subject, id)). Which
-- copy of an identity counts is decided by the processor (the first accepted), not by merges.
ALTER TABLE ${database}.events ADD COLUMN IF NOT EXISTS source_identity String, MODIFY ORDER BY (subject, id, source_identity);
