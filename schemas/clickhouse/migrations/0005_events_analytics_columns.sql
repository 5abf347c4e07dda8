-- The analytics (docs/analytics.md) read three fields of an event's payload: the experiment and
-- variant extensions of the envelope, and the customer. Materialized when a part is written
-- (parts written before this migration compute them when read), so the API and analysts
-- filter and join on them without parsing JSON.
ALTER TABLE ${database}.events ADD COLUMN IF NOT EXISTS experiment LowCardinality(String) MATERIALIZED JSONExtractString(payload, 'experiment');
ALTER TABLE ${database}.events ADD COLUMN IF NOT EXISTS variant LowCardinality(String) MATERIALIZED JSONExtractString(payload, 'variant');
ALTER TABLE ${database}.events ADD COLUMN IF NOT EXISTS customer_id String MATERIALIZED JSONExtractString(payload, 'data', 'customerId');
