-- Every rejected event, copied from the dead-letter topic by the dead-letter recorder, with its
-- raw payload exactly as received and the reason. One row per rejection: `dedup_key` is the
-- source message (topic:partition:offset) for the processor's rejections, so a replay of the
-- events topic rejects again without a second row; for the gateway's it is the dead letter's
-- own position (dlq:partition:offset).
CREATE TABLE IF NOT EXISTS ${database}.rejected_events
(
    dedup_key String,
    origin LowCardinality(String),
    reason LowCardinality(String),
    errors String,
    event_id String,
    event_type LowCardinality(String),
    subject String,
    sender String,
    raw String CODEC(ZSTD(3)),
    source_topic LowCardinality(String),
    source_partition Int32,
    source_offset Int64,
    dlq_partition UInt32,
    dlq_offset UInt64,
    rejected_at DateTime64(3, 'UTC'),
    recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY dedup_key;
