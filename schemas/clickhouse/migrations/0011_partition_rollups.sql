-- Minute rollups per Kafka partition, kept by the partition's owner (decision 0020). The
-- processor holds each (CPI, minute, partition)'s counts in memory, changes them by what each
-- outcome row adds and what the row it replaces took away, and writes the whole row; the
-- minute rows of `cpi_rollup` (what every reader reads) are the sum of the partitions' rows.
-- A minute is re-aggregated from `outcomes` only to repair (after a crash between the outcome
-- and rollup writes, found by `written_at`) and by `cpi recompute`.
CREATE TABLE IF NOT EXISTS ${database}.cpi_rollup_partition
(
    cpi LowCardinality(String),
    bucket DateTime('UTC'),
    kafka_partition UInt32,
    dimension LowCardinality(String),
    value String,
    good UInt64,
    total UInt64,
    pending UInt64,
    provisional UInt64,
    latency_count UInt64,
    latency_histogram Map(Int16, UInt64),
    open_since Array(Tuple(UInt32, Int64)),
    definition_version UInt32,
    -- The engine's clock before the write (ns): the latest write of a row wins.
    version UInt64,
    -- When it was written: outcome rows of the partition written later than its newest rollup
    -- row (a crash between the two writes) are what a takeover repairs.
    written_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(bucket)
ORDER BY (cpi, bucket, kafka_partition, dimension, value)
SETTINGS index_granularity = 64;

-- The same counts as `outcome_rollup_rows`, per partition: what a repair writes.
CREATE OR REPLACE VIEW ${database}.outcome_rollup_partition_rows AS
SELECT
    cpi,
    toDateTime(toStartOfMinute(cohort_at), 'UTC') AS bucket,
    kafka_partition,
    segment.1 AS dimension,
    segment.2 AS value,
    countIf(state = 'good') AS good,
    countIf(state IN ('good', 'bad')) AS total,
    countIf(state = 'pending') AS pending,
    countIf(status = 'provisional') AS provisional,
    countIf(state IN ('good', 'bad') AND (latency_ms IS NOT NULL OR open = 1)) AS latency_count,
    sumMapIf(
        map(toInt16(if(ifNull(latency_ms, 0) = 0, 0, sign(ifNull(latency_ms, 0)) * (1 + round(log(abs(ifNull(latency_ms, 0))) / log(1.01))))), toUInt64(1)),
        state IN ('good', 'bad') AND latency_ms IS NOT NULL AND open = 0) AS latency_histogram,
    groupArrayIf((kafka_partition, toUnixTimestamp64Milli(cohort_at)), state IN ('good', 'bad') AND open = 1) AS open_since,
    max(definition_version) AS definition_version
FROM ${database}.outcomes FINAL
ARRAY JOIN arrayConcat([('all', 'all')], arrayZip(mapKeys(segments), mapValues(segments))) AS segment
WHERE state != 'excluded'
GROUP BY cpi, bucket, kafka_partition, dimension, value;

INSERT INTO ${database}.cpi_rollup_partition
    (cpi, bucket, kafka_partition, dimension, value, good, total, pending, provisional, latency_count,
     latency_histogram, open_since, definition_version, version)
SELECT cpi, bucket, kafka_partition, dimension, value, good, total, pending, provisional, latency_count,
       latency_histogram, open_since, definition_version, toUInt64(toUnixTimestamp64Nano(now64(9)))
FROM ${database}.outcome_rollup_partition_rows;

-- The repair looks for outcome rows written after a partition's last rollup write.
ALTER TABLE ${database}.outcomes ADD INDEX IF NOT EXISTS computed_minmax computed_at TYPE minmax GRANULARITY 1;
