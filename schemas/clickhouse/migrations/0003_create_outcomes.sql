-- Events later than the allowed lateness are kept but flagged, and the CPI engine leaves them out.
ALTER TABLE ${database}.events ADD COLUMN IF NOT EXISTS too_late UInt8 DEFAULT 0;

-- One row per CPI and interaction (a survey response is its own interaction): the outcome as of
-- the watermark it was computed at. Recomputed whenever the interaction gets an event or a
-- deadline or follow-up window passes; the row with the latest watermark wins (and, at equal
-- watermarks, the one written last). `definition_version` says which definition produced it.
CREATE TABLE IF NOT EXISTS ${database}.outcomes
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
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(cohort_at)
ORDER BY (cpi, subject);

-- The processor's event-time watermark per partition of the events topic (R6): freshness on
-- the dashboard, and the "now" of open interactions' latency.
CREATE TABLE IF NOT EXISTS ${database}.watermarks
(
    topic LowCardinality(String),
    partition UInt32,
    watermark DateTime64(3, 'UTC'),
    max_event_time DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (topic, partition);

-- Outcomes with the latency of interactions still open past their deadline measured up to the
-- current watermark of their partition (R2: open ones count, and their wait keeps growing).
CREATE OR REPLACE VIEW ${database}.outcomes_now AS
SELECT
    o.* EXCEPT (latency_ms),
    if(o.open = 1, dateDiff('millisecond', o.cohort_at, w.current), o.latency_ms) AS latency_ms
FROM (SELECT * FROM ${database}.outcomes FINAL WHERE state != 'excluded') AS o
LEFT JOIN
(
    SELECT partition, argMax(watermark, updated_at) AS current FROM ${database}.watermarks GROUP BY partition
) AS w ON w.partition = o.kafka_partition;

-- Each known-or-pending outcome once per dimension it belongs to: (`all`, `all`) for the whole
-- CPI, then one (dimension, value) per segment of the interaction.
CREATE OR REPLACE VIEW ${database}.outcome_segments AS
SELECT cpi, cohort_at, state, status, latency_ms, definition_version, segment.1 AS dimension, segment.2 AS value
FROM ${database}.outcomes_now
ARRAY JOIN arrayConcat([('all', 'all')], arrayZip(mapKeys(segments), mapValues(segments))) AS segment;

-- CPI values per minute, CPI, dimension and segment value. good / total / pending / ratio,
-- latency percentiles over known outcomes (R2), and status: provisional while any outcome in
-- the window is (R4). The hourly and daily views are the same over wider windows.
CREATE OR REPLACE VIEW ${database}.cpi_values AS
SELECT
    cpi,
    toStartOfMinute(cohort_at) AS window_start,
    dimension,
    value,
    countIf(state = 'good') AS good,
    countIf(state IN ('good', 'bad')) AS total,
    countIf(state = 'pending') AS pending,
    if(total = 0, NULL, good / total) AS ratio,
    countIf(state IN ('good', 'bad') AND latency_ms IS NOT NULL) AS latency_count,
    quantilesIf(0.5, 0.9, 0.99)(latency_ms, state IN ('good', 'bad') AND latency_ms IS NOT NULL) AS latency_quantiles_ms,
    if(countIf(status = 'provisional') > 0, 'provisional', 'final') AS status,
    max(definition_version) AS definition_version
FROM ${database}.outcome_segments
GROUP BY cpi, window_start, dimension, value;

CREATE OR REPLACE VIEW ${database}.cpi_values_hourly AS
SELECT
    cpi,
    toStartOfHour(cohort_at) AS window_start,
    dimension,
    value,
    countIf(state = 'good') AS good,
    countIf(state IN ('good', 'bad')) AS total,
    countIf(state = 'pending') AS pending,
    if(total = 0, NULL, good / total) AS ratio,
    countIf(state IN ('good', 'bad') AND latency_ms IS NOT NULL) AS latency_count,
    quantilesIf(0.5, 0.9, 0.99)(latency_ms, state IN ('good', 'bad') AND latency_ms IS NOT NULL) AS latency_quantiles_ms,
    if(countIf(status = 'provisional') > 0, 'provisional', 'final') AS status,
    max(definition_version) AS definition_version
FROM ${database}.outcome_segments
GROUP BY cpi, window_start, dimension, value;

CREATE OR REPLACE VIEW ${database}.cpi_values_daily AS
SELECT
    cpi,
    toStartOfDay(cohort_at) AS window_start,
    dimension,
    value,
    countIf(state = 'good') AS good,
    countIf(state IN ('good', 'bad')) AS total,
    countIf(state = 'pending') AS pending,
    if(total = 0, NULL, good / total) AS ratio,
    countIf(state IN ('good', 'bad') AND latency_ms IS NOT NULL) AS latency_count,
    quantilesIf(0.5, 0.9, 0.99)(latency_ms, state IN ('good', 'bad') AND latency_ms IS NOT NULL) AS latency_quantiles_ms,
    if(countIf(status = 'provisional') > 0, 'provisional', 'final') AS status,
    max(definition_version) AS definition_version
FROM ${database}.outcome_segments
GROUP BY cpi, window_start, dimension, value;
