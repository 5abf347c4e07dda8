-- Business-hours expectations (a CPI whose `expectation.calendar` names a calendar): `latency_ms`
-- is the wait in the calendar's working time, what the expectation and the percentiles measure;
-- `wall_latency_ms` is the same wait in wall time. Null for a CPI on wall time (the two are equal).
ALTER TABLE ${database}.outcomes ADD COLUMN IF NOT EXISTS wall_latency_ms Nullable(Int64) AFTER latency_ms;
