-- The receivers (by configured name) a transition's notification is addressed to, recorded with
-- the transition in the outbox: after a restart it is owed to those of them without a delivery
-- row, so a receiver added later is not sent the history and a rotated URL (same name) is not
-- sent it again. Rows recorded before this migration have none: owed to every receiver.
ALTER TABLE ${database}.alerts ADD COLUMN IF NOT EXISTS receivers Array(String);
