-- The raw log: every accepted event, as it arrived, with where it came from in Kafka.
-- One row per event id: a redelivered or replayed event inserts a row with the same sorting
-- key that merges away (ReplacingMergeTree). Readers that count use FINAL or uniqExact(id),
-- so a duplicate never counts twice, merged yet or not. Everything downstream can be rebuilt
-- from this table (ARCHITECTURE.md, principle 1).
CREATE TABLE IF NOT EXISTS ${database}.events
(
    id String,
    type LowCardinality(String),
    source LowCardinality(String),
    subject String,
    time DateTime64(3, 'UTC'),
    payload String CODEC(ZSTD(3)),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX time_minmax time TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (subject, id);
