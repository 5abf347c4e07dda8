-- The alerter's store (services/alerter). Every transition of an alert is one row: the state an
-- alert is in is its row with the highest seq. Written before any notification is sent (an
-- outbox), so a restart loses no alert and knows which notifications are still owed.
CREATE TABLE IF NOT EXISTS ${database}.alerts
(
    fingerprint String,
    seq UInt32,
    state LowCardinality(String),
    previous_state LowCardinality(String),
    labels Map(LowCardinality(String), String),
    annotations Map(LowCardinality(String), String),
    active_since DateTime64(3, 'UTC'),
    fired_at Nullable(DateTime64(3, 'UTC')),
    resolved_at Nullable(DateTime64(3, 'UTC')),
    value Float64,
    threshold Float64,
    -- Event time (the pipeline's watermark) the transition was evaluated at.
    evaluated_at DateTime64(3, 'UTC'),
    notify UInt8,
    silenced_by Array(String),
    recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(recorded_at)
PARTITION BY toYYYYMM(evaluated_at)
ORDER BY (fingerprint, seq);

-- One row per notification a receiver acknowledged (or gave up on), keyed by the notification's
-- idempotency key: a restart resends only what has no row here.
CREATE TABLE IF NOT EXISTS ${database}.alert_deliveries
(
    idempotency_key String,
    receiver String,
    outcome LowCardinality(String),
    attempts UInt32,
    last_error String,
    fingerprints Array(String),
    delivered_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(delivered_at)
ORDER BY (receiver, idempotency_key);

-- Silences: the row with the latest version wins; expiring one early is a new version.
CREATE TABLE IF NOT EXISTS ${database}.silences
(
    id String,
    matchers String,
    starts_at DateTime64(3, 'UTC'),
    ends_at DateTime64(3, 'UTC'),
    created_by String,
    comment String,
    version DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- How far the alerter has evaluated (event time), so a restart neither skips nor replays.
CREATE TABLE IF NOT EXISTS ${database}.alerter_checkpoints
(
    name LowCardinality(String),
    evaluated_through DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY name;
