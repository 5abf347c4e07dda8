-- Business-hours expectations and pausing clocks (a latency CPI's `expectation.calendar` and
-- `pauses`): `latency_ms` is the wait in the calendar's working time less the time the clock was
-- paused — what the expectation and the percentiles measure. Beside it: `wall_latency_ms`, the
-- same wait in wall time (null for a CPI on wall time), and `pauses` / `paused_ms`, how many
-- pauses the wait had and how long they were (working time on a calendar; 0 / null without).
ALTER TABLE ${database}.outcomes
    ADD COLUMN IF NOT EXISTS wall_latency_ms Nullable(Int64) AFTER latency_ms,
    ADD COLUMN IF NOT EXISTS pauses UInt32 DEFAULT 0 AFTER wall_latency_ms,
    ADD COLUMN IF NOT EXISTS paused_ms Nullable(Int64) AFTER pauses;
