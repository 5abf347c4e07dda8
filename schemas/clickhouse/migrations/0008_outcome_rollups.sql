-- Rollups written by the processor (decision 0015): reads cost what the range holds in minutes,
-- not what `outcomes` holds in rows.
--
-- 1. `outcomes` is sorted by (cpi, cohort minute, subject), so the processor can re-aggregate the
--    minutes it changed. An interaction whose cohort moves to another minute (an earlier start
--    event arrives late) leaves a tombstone (`is_deleted` = 1, state `excluded`) at its old
--    place; FINAL keeps each (cpi, minute, subject)'s latest row and drops tombstones. Rebuilt
--    under a temporary name and swapped in; every step can run again after a crash between them
--    (the first drops what a half-done run left, the copy reads `outcomes` FINAL).
DROP TABLE IF EXISTS ${database}.outcomes_0008;

CREATE TABLE ${database}.outcomes_0008
(
    cpi LowCardinality(String),
    definition_version UInt32,
    subject String,
    cohort_at DateTime64(3, 'UTC'),
    state LowCardinality(String),
    status LowCardinality(String),
    latency_ms Nullable(Int64),
    open UInt8 DEFAULT 0,
    segments Map(LowCardinality(String), String),
    revisit_at Nullable(DateTime64(3, 'UTC')),
    watermark DateTime64(3, 'UTC'),
    kafka_partition UInt32,
    computed_at DateTime64(3, 'UTC') DEFAULT now64(3),
    version UInt64,
    is_deleted UInt8 DEFAULT 0,
    INDEX subject_bloom subject TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(cohort_at)
ORDER BY (cpi, toStartOfMinute(cohort_at), subject)
-- A refresh reads a few minutes of a few CPIs: granules of 1,024 rows, not 8,192.
SETTINGS index_granularity = 1024;

INSERT INTO ${database}.outcomes_0008
    (cpi, definition_version, subject, cohort_at, state, status, latency_ms, open, segments, revisit_at, watermark, kafka_partition, computed_at, version)
SELECT cpi, definition_version, subject, cohort_at, state, status, latency_ms, open, segments, revisit_at, watermark, kafka_partition, computed_at, version
FROM ${database}.outcomes FINAL;

EXCHANGE TABLES ${database}.outcomes AND ${database}.outcomes_0008;

DROP TABLE IF EXISTS ${database}.outcomes_0008;

-- 2. The rows of the rollup at its finest grain, as `outcomes` says now: per CPI, cohort minute
--    and (dimension, value) — (`all`, `all`) for the whole CPI — the counts, a latency histogram
--    (logarithmic buckets 1 % wide: key 0 for 0 ms, ±(1 + round(ln |ms| / ln 1.01)) otherwise) of
--    the known latencies, and the (partition, cohort) of interactions still open past their
--    deadline, whose wait is measured when read, against their partition's current watermark.
--    The processor writes the minutes it changed from it (packages/clickhouse/src/tables/rollups.ts).
CREATE OR REPLACE VIEW ${database}.outcome_rollup_rows AS
SELECT
    cpi,
    toUInt32(60) AS grain,
    toDateTime(toStartOfMinute(cohort_at), 'UTC') AS bucket,
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
GROUP BY cpi, bucket, dimension, value;

-- 3. The rollup: one row per CPI, grain (a minute, 5 minutes, an hour), bucket and (dimension,
--    value), each replaced as a whole when the processor writes it again: minutes from
--    `outcomes` with each write of outcomes, each coarser grain from the one below at each sweep. `version` is the engine's clock when
--    the writing statement started, so of two writes of a row the one that started last — the one
--    that saw everything written before it — wins.
CREATE TABLE IF NOT EXISTS ${database}.cpi_rollup
(
    cpi LowCardinality(String),
    grain UInt32,
    bucket DateTime('UTC'),
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
    version UInt64,
    -- On coarser rows: the newest minute row (by `_block_number`) the write had followed.
    followed_block UInt64 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(bucket)
ORDER BY (cpi, grain, dimension, value, bucket)
-- Rows carry histograms of hundreds of entries: small granules, so a read decompresses little
-- beside the rows it asked for. `_block_number` numbers inserts in commit order and stays with
-- each row through merges: the sweep follows the minute rows written since it last looked.
SETTINGS index_granularity = 16, enable_block_number_column = 1;

INSERT INTO ${database}.cpi_rollup
SELECT *, toUInt64(toUnixTimestamp64Nano(now64(9))) AS version, 0 AS followed_block FROM ${database}.outcome_rollup_rows;

INSERT INTO ${database}.cpi_rollup
SELECT cpi, 300, toStartOfInterval(bucket, toIntervalSecond(300), 'UTC') AS coarse, dimension, value,
       sum(good), sum(total), sum(pending), sum(provisional), sum(latency_count), sumMap(latency_histogram),
       groupArrayArray(open_since), max(definition_version), toUInt64(toUnixTimestamp64Nano(now64(9))),
       (SELECT max(_block_number) FROM ${database}.cpi_rollup WHERE grain = 60)
FROM ${database}.cpi_rollup FINAL
WHERE grain = 60
GROUP BY cpi, coarse, dimension, value;

INSERT INTO ${database}.cpi_rollup
SELECT cpi, 3600, toStartOfInterval(bucket, toIntervalSecond(3600), 'UTC') AS coarse, dimension, value,
       sum(good), sum(total), sum(pending), sum(provisional), sum(latency_count), sumMap(latency_histogram),
       groupArrayArray(open_since), max(definition_version), toUInt64(toUnixTimestamp64Nano(now64(9))),
       (SELECT max(_block_number) FROM ${database}.cpi_rollup WHERE grain = 60)
FROM ${database}.cpi_rollup FINAL
WHERE grain = 300
GROUP BY cpi, coarse, dimension, value;

-- 4. The documented views read the rollup at their grain. Per minute, hour and day: good /
--    total / pending / ratio, latency percentiles over known outcomes (open ones measured to
--    the current watermark; from the histogram, within 1 %), and status provisional while any
--    outcome in the window is.
CREATE OR REPLACE VIEW ${database}.cpi_rollup_now AS
WITH (
    SELECT CAST((groupArray(partition), groupArray(current)), 'Map(UInt32, Int64)')
    FROM (SELECT partition, toUnixTimestamp64Milli(argMax(watermark, updated_at)) AS current FROM ${database}.watermarks GROUP BY partition)
) AS watermark_of
SELECT
    cpi, grain, bucket, dimension, value, good, total, pending, provisional, latency_count, definition_version,
    arrayConcat(mapKeys(latency_histogram),
        arrayMap(o -> toInt16(if(watermark_of[o.1] - o.2 = 0, 0, sign(watermark_of[o.1] - o.2) * (1 + round(log(abs(watermark_of[o.1] - o.2)) / log(1.01))))), open_since)) AS histogram_keys,
    arrayConcat(mapValues(latency_histogram), arrayMap(o -> toUInt64(1), open_since)) AS histogram_counts
FROM ${database}.cpi_rollup FINAL;

CREATE OR REPLACE VIEW ${database}.cpi_values AS
SELECT
    cpi, bucket AS window_start, dimension, value, good, total, pending,
    if(total = 0, NULL, good / total) AS ratio,
    latency_count,
    arrayMap(q -> if(n = 0, nan,
        reps[arrayFirstIndex(c -> c > floor((n - 1) * q), cum)]
        + (reps[arrayFirstIndex(c -> c > ceil((n - 1) * q), cum)] - reps[arrayFirstIndex(c -> c > floor((n - 1) * q), cum)])
          * ((n - 1) * q - floor((n - 1) * q))), [0.5, 0.9, 0.99]) AS latency_quantiles_ms,
    if(provisional > 0, 'provisional', 'final') AS status,
    definition_version
FROM
(
    SELECT cpi, bucket, dimension, value, good, total, pending, provisional, latency_count, definition_version,
           sumMap(histogram_keys, histogram_counts) AS h, arraySum(h.2) AS n, arrayCumSum(h.2) AS cum,
           arrayMap(k -> if(k = 0, 0, sign(k) * round(pow(1.01, abs(k) - 1))), h.1) AS reps
    FROM ${database}.cpi_rollup_now
    WHERE grain = 60
    GROUP BY cpi, bucket, dimension, value, good, total, pending, provisional, latency_count, definition_version
);

CREATE OR REPLACE VIEW ${database}.cpi_values_hourly AS
SELECT
    cpi, bucket AS window_start, dimension, value, good, total, pending,
    if(total = 0, NULL, good / total) AS ratio,
    latency_count,
    arrayMap(q -> if(n = 0, nan,
        reps[arrayFirstIndex(c -> c > floor((n - 1) * q), cum)]
        + (reps[arrayFirstIndex(c -> c > ceil((n - 1) * q), cum)] - reps[arrayFirstIndex(c -> c > floor((n - 1) * q), cum)])
          * ((n - 1) * q - floor((n - 1) * q))), [0.5, 0.9, 0.99]) AS latency_quantiles_ms,
    if(provisional > 0, 'provisional', 'final') AS status,
    definition_version
FROM
(
    SELECT cpi, bucket, dimension, value, good, total, pending, provisional, latency_count, definition_version,
           sumMap(histogram_keys, histogram_counts) AS h, arraySum(h.2) AS n, arrayCumSum(h.2) AS cum,
           arrayMap(k -> if(k = 0, 0, sign(k) * round(pow(1.01, abs(k) - 1))), h.1) AS reps
    FROM ${database}.cpi_rollup_now
    WHERE grain = 3600
    GROUP BY cpi, bucket, dimension, value, good, total, pending, provisional, latency_count, definition_version
);

CREATE OR REPLACE VIEW ${database}.cpi_values_daily AS
SELECT
    cpi, day AS window_start, dimension, value, good, total, pending,
    if(total = 0, NULL, good / total) AS ratio,
    latency_count,
    arrayMap(q -> if(n = 0, nan,
        reps[arrayFirstIndex(c -> c > floor((n - 1) * q), cum)]
        + (reps[arrayFirstIndex(c -> c > ceil((n - 1) * q), cum)] - reps[arrayFirstIndex(c -> c > floor((n - 1) * q), cum)])
          * ((n - 1) * q - floor((n - 1) * q))), [0.5, 0.9, 0.99]) AS latency_quantiles_ms,
    if(provisional > 0, 'provisional', 'final') AS status,
    definition_version
FROM
(
    SELECT cpi, toStartOfDay(bucket) AS day, dimension, value, sum(good) AS good, sum(total) AS total,
           sum(pending) AS pending, sum(provisional) AS provisional, sum(latency_count) AS latency_count,
           max(definition_version) AS definition_version,
           sumMap(histogram_keys, histogram_counts) AS h, arraySum(h.2) AS n, arrayCumSum(h.2) AS cum,
           arrayMap(k -> if(k = 0, 0, sign(k) * round(pow(1.01, abs(k) - 1))), h.1) AS reps
    FROM ${database}.cpi_rollup_now
    WHERE grain = 3600
    GROUP BY cpi, day, dimension, value
);
