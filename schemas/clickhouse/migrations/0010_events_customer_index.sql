-- A customer's value ledger (`GET /v1/customers/{id}/value`) reads the events of one customer,
-- which the sorting key (subject, id, …) does not lead to: a bloom filter on the customer column
-- lets a read skip the granules that cannot hold that customer instead of scanning them all.
-- Parts written before this migration have no index (they are read whole) until merged.
ALTER TABLE ${database}.events ADD INDEX IF NOT EXISTS customer_bloom customer_id TYPE bloom_filter(0.01) GRANULARITY 4;
