import path from 'node:path'
import { z } from 'zod'
import { ConfigError, parseEnv } from './parse-env.ts'

const port = z.coerce.number().int().min(1).max(65_535)
const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier (letters, digits, underscore)')
const positiveInt = () => z.coerce.number().int().positive()
const onOff = z.enum(['on', 'off'])
const topicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name (letters, digits, . _ -)')
const keyList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((key) => key.trim())
      .filter((key) => key !== ''),
  )
  .pipe(z.array(z.string().min(16, 'expected keys of at least 16 characters')).min(1))
/**
 * Alert receivers: `name=url` or a bare URL, comma-separated. Deliveries are recorded by name, so
 * a URL can be rotated under its name; a bare URL is named by its kind and position
 * (`webhook-1`, `slack-2`), which keeps the lists of older configurations working.
 */
const receiverList = (kind: 'webhook' | 'slack') =>
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '')
        .map((entry, index) => {
          // A name has no ':' or '/', so a bare URL (even one with '=' in its query) is never read as one.
          const named = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})=(.*)$/.exec(entry)
          return named
            ? { name: named[1] as string, url: named[2] as string }
            : { name: `${kind}-${index + 1}`, url: entry }
        }),
    )
    .pipe(z.array(z.object({ name: z.string(), url: z.url({ protocol: /^https?$/ }) })).min(1))
/** Days of a table's retention TTL; 0 removes the TTL. */
const retentionDays = z.coerce.number().int().min(0).max(36_500)
const brokerList = z
  .string()
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port')).min(1))

/**
 * Every environment variable the services read, with its default. docs/configuration.md
 * documents each; a test there keeps the two lists equal.
 */
const environmentShape = z.object({
  PORT: port.default(8080),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_BROKERS: brokerList.default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().default('cpi-pipeline'),
  KAFKA_CONNECTION_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(30_000),
  KAFKA_SSL: onOff.optional(),
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  CLICKHOUSE_URL: z.url({ protocol: /^https?$/ }).optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: identifier.default('cpi'),
  CLICKHOUSE_CLUSTER: identifier.optional(),
  CLICKHOUSE_PATH: z.string().default('.data/clickhouse'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  CPI_HTTP_REQUEST_TIMEOUT_MS: positiveInt().default(30_000),
  CPI_HTTP_HEADERS_TIMEOUT_MS: positiveInt().default(10_000),
  CPI_HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt().default(5000),
  CPI_HTTP_MAX_CONNECTIONS: positiveInt().default(1000),
  CPI_READY_CHECK_TIMEOUT_MS: positiveInt().default(2000),
  CPI_MODE: z.enum(['local', 'production']).default('local'),
  CPI_DATA_DIR: z.string().default('.data'),
  CPI_EVENTS_TOPIC: topicName.default('cpi.events'),
  CPI_EVENTS_PARTITIONS: positiveInt().max(1000).default(6),
  CPI_DEAD_LETTER_TOPIC: topicName.default('cpi.events.dlq'),
  CPI_INGEST_KEYS: keyList.optional(),
  CPI_INGEST_MAX_BODY_BYTES: positiveInt().default(5 * 1024 * 1024),
  CPI_INGEST_MAX_EVENT_BYTES: positiveInt().default(64 * 1024),
  CPI_INGEST_MAX_DEPTH: positiveInt().max(64).default(12),
  CPI_INGEST_MAX_STRING_LENGTH: positiveInt().default(8 * 1024),
  CPI_INGEST_RATE_LIMIT: positiveInt().default(50_000),
  CPI_INGEST_RATE_BURST: positiveInt().optional(),
  CPI_INGEST_PRODUCE_TIMEOUT_MS: positiveInt().default(10_000),
  CPI_INGEST_MAX_QUEUED_BYTES: positiveInt().default(64 * 1024 * 1024),
  CPI_INGEST_MAX_QUEUED_MESSAGES: positiveInt().default(100_000),
  // Under the broker's default record limit (1 MiB) with room for the headers.
  CPI_DEAD_LETTER_MAX_RAW_BYTES: positiveInt()
    .max(900_000)
    .default(256 * 1024),
  CPI_PROCESSOR_GROUP: z.string().min(1).default('cpi-processor'),
  CPI_CATALOG_FILES: z
    .string()
    .transform((value) => value.split(',').map((file) => path.resolve(file.trim())))
    .optional(),
  CPI_ALLOWED_LATENESS_MS: positiveInt().optional(),
  CPI_IDLE_AFTER_MS: positiveInt().default(5000),
  CPI_MAX_CLOCK_SKEW_MS: positiveInt().default(60_000),
  CPI_SWEEP_INTERVAL_MS: positiveInt().default(1000),
  CPI_PROCESSOR_FETCH_BYTES: positiveInt()
    .min(65_536)
    .default(4 * 1024 * 1024),
  CPI_PROCESSOR_CONCURRENT_PARTITIONS: positiveInt().max(1000).default(6),
  CPI_PROCESSOR_STATE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
  CPI_PROCESSOR_SECOND_LANE: onOff.default('off'),
  CPI_SIMULATOR: onOff.optional(),
  CPI_SIMULATOR_RATE: z.coerce.number().positive().max(100_000).default(2),
  CPI_SIMULATOR_SEED: z.coerce.number().int().default(1),
  CPI_SIMULATOR_TARGET: z.enum(['http', 'kafka']).default('http'),
  CPI_SIMULATOR_EXPERIMENT: onOff.default('on'),
  CPI_EXPERIMENTS_FILE: z.string().min(1).optional(),
  CPI_READ_TOKENS: keyList.optional(),
  CPI_KEYS_FILE: z.string().min(1).optional(),
  CPI_KEYS_RELOAD_MS: positiveInt().min(100).default(5000),
  CPI_PSEUDONYMIZE_KEY: z.string().min(32, 'expected a key of at least 32 characters').optional(),
  CPI_RETENTION_EVENTS_DAYS: retentionDays.optional(),
  CPI_RETENTION_REJECTED_DAYS: retentionDays.optional(),
  CPI_RETENTION_ALERTS_DAYS: retentionDays.optional(),
  CPI_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  CPI_RUNBOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  CPI_STREAM_INTERVAL_MS: positiveInt().min(100).default(1000),
  CPI_STREAM_MAX_CLIENTS: positiveInt().default(100),
  CPI_STREAM_MAX_BUFFER_BYTES: positiveInt()
    .min(65_536)
    .default(1024 * 1024),
  CPI_API_ROLLUP_CACHE_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
  CPI_ALERTER: onOff.default('on'),
  CPI_ALERTS_TOPIC: topicName.default('cpi.alerts'),
  CPI_ALERT_INTERVAL_MS: positiveInt().default(5000),
  CPI_ALERT_LOOKBACK_MS: positiveInt().default(3_600_000),
  CPI_ALERT_MIN_EVENTS: positiveInt().default(20),
  CPI_ALERT_PENDING_MS: z.coerce.number().int().min(0).default(120_000),
  CPI_ALERT_NO_DATA_MS: positiveInt().default(3_600_000),
  CPI_ALERT_BASELINE_WEEKS: positiveInt().max(12).default(4),
  CPI_ALERT_BASELINE_DROP: z.coerce.number().gt(0).lt(1).default(0.1),
  CPI_ALERT_STALL_MS: positiveInt().default(300_000),
  CPI_ALERT_BREACH_WITHIN_MS: z.coerce.number().int().min(0).default(0),
  CPI_ALERT_BREACH_MIN: positiveInt().default(1),
  CPI_ALERT_WEBHOOK_URLS: receiverList('webhook').optional(),
  CPI_ALERT_SLACK_WEBHOOK_URLS: receiverList('slack').optional(),
  CPI_ALERT_WEBHOOK_TIMEOUT_MS: positiveInt().default(5000),
  CPI_ALERT_DELIVERY_ATTEMPTS: positiveInt().max(100).default(10),
  CPI_SIMULATOR_BACKFILL_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(24),
})

/** The names of every variable in the schema, for the documentation check. */
export const environmentVariableNames: readonly string[] = Object.keys(environmentShape.shape)

/** Variables whose values a configuration error must not repeat (keys, passwords). */
export const secretVariableNames: ReadonlySet<string> = new Set([
  'CLICKHOUSE_PASSWORD',
  'KAFKA_SASL_PASSWORD',
  'CPI_INGEST_KEYS',
  'CPI_READ_TOKENS',
  'CPI_PSEUDONYMIZE_KEY',
  // A webhook URL is its own credential (Slack's carry the secret in the path).
  'CPI_ALERT_WEBHOOK_URLS',
  'CPI_ALERT_SLACK_WEBHOOK_URLS',
])

/** The environment as the schema reads it, before it becomes the configuration object. */
type Environment = z.infer<typeof environmentShape>

/** The whole configuration, one section per service or concern. */
function toConfig(env: Environment) {
  return {
    http: { port: env.PORT, host: env.HOST },
    /** Every HTTP server's timeouts and connection cap (packages/runtime/src/http-server.ts). */
    httpLimits: httpLimitsConfig(env),
    log: { level: env.LOG_LEVEL },
    kafka: kafkaConfig(env),
    clickhouse: clickhouseConfig(env),
    readyCheckTimeoutMs: env.CPI_READY_CHECK_TIMEOUT_MS,
    mode: env.CPI_MODE,
    dataDir: path.resolve(env.CPI_DATA_DIR),
    topics: {
      events: env.CPI_EVENTS_TOPIC,
      eventsPartitions: env.CPI_EVENTS_PARTITIONS,
      deadLetter: env.CPI_DEAD_LETTER_TOPIC,
    },
    ingest: ingestConfig(env),
    processor: processorConfig(env),
    access: {
      keysFile: env.CPI_KEYS_FILE ? path.resolve(env.CPI_KEYS_FILE) : undefined,
      reloadMs: env.CPI_KEYS_RELOAD_MS,
    },
    /** Days per table group (undefined: leave the table as it is; 0: remove the TTL). */
    retention: {
      eventsDays: env.CPI_RETENTION_EVENTS_DAYS,
      rejectedDays: env.CPI_RETENTION_REJECTED_DAYS,
      alertsDays: env.CPI_RETENTION_ALERTS_DAYS,
    },
    simulator: simulatorConfig(env),
    api: apiConfig(env),
    alerter: alerterConfig(env),
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  }
}

/** Every HTTP server's timeouts and connection cap. */
function httpLimitsConfig(env: Environment) {
  return {
    requestTimeoutMs: env.CPI_HTTP_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: env.CPI_HTTP_HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: env.CPI_HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: env.CPI_HTTP_MAX_CONNECTIONS,
  }
}

/** The Kafka clients' brokers, timeouts, TLS and SASL. */
function kafkaConfig(env: Environment) {
  return {
    brokers: env.KAFKA_BROKERS,
    clientId: env.KAFKA_CLIENT_ID,
    connectionTimeoutMs: env.KAFKA_CONNECTION_TIMEOUT_MS,
    sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
    // TLS when asked for, or when a CA file is given; SASL when a mechanism is named.
    ssl:
      (env.KAFKA_SSL ?? (env.KAFKA_SSL_CA_FILE ? 'on' : 'off')) === 'on'
        ? { ...(env.KAFKA_SSL_CA_FILE ? { caFile: path.resolve(env.KAFKA_SSL_CA_FILE) } : {}) }
        : undefined,
    sasl:
      env.KAFKA_SASL_MECHANISM && env.KAFKA_SASL_USERNAME && env.KAFKA_SASL_PASSWORD
        ? {
            mechanism: env.KAFKA_SASL_MECHANISM,
            username: env.KAFKA_SASL_USERNAME,
            password: env.KAFKA_SASL_PASSWORD,
          }
        : undefined,
  }
}

/** A ClickHouse server when a URL is given, the embedded engine's data directory otherwise. */
function clickhouseConfig(env: Environment) {
  return env.CLICKHOUSE_URL
    ? {
        kind: 'http' as const,
        url: env.CLICKHOUSE_URL,
        username: env.CLICKHOUSE_USER,
        password: env.CLICKHOUSE_PASSWORD,
        database: env.CLICKHOUSE_DATABASE,
        ...(env.CLICKHOUSE_CLUSTER ? { cluster: env.CLICKHOUSE_CLUSTER } : {}),
      }
    : {
        kind: 'embedded' as const,
        path: path.resolve(env.CLICKHOUSE_PATH),
        database: env.CLICKHOUSE_DATABASE,
      }
}

/** The ingest gateway's keys, body and event limits, rate limit and producer bounds. */
function ingestConfig(env: Environment) {
  return {
    keys: env.CPI_INGEST_KEYS,
    maxBodyBytes: env.CPI_INGEST_MAX_BODY_BYTES,
    limits: {
      maxEventBytes: env.CPI_INGEST_MAX_EVENT_BYTES,
      maxDepth: env.CPI_INGEST_MAX_DEPTH,
      maxStringLength: env.CPI_INGEST_MAX_STRING_LENGTH,
    },
    rateLimitPerSecond: env.CPI_INGEST_RATE_LIMIT,
    rateBurst: env.CPI_INGEST_RATE_BURST ?? env.CPI_INGEST_RATE_LIMIT * 2,
    produceTimeoutMs: env.CPI_INGEST_PRODUCE_TIMEOUT_MS,
    maxQueuedBytes: env.CPI_INGEST_MAX_QUEUED_BYTES,
    maxQueuedMessages: env.CPI_INGEST_MAX_QUEUED_MESSAGES,
    deadLetterMaxRawBytes: env.CPI_DEAD_LETTER_MAX_RAW_BYTES,
  }
}

/** The processor's consumer group, catalog, lateness and clock bounds, fetch and state sizes. */
function processorConfig(env: Environment) {
  return {
    groupId: env.CPI_PROCESSOR_GROUP,
    catalogFiles: env.CPI_CATALOG_FILES ?? [],
    allowedLatenessMs: env.CPI_ALLOWED_LATENESS_MS,
    idleAfterMs: env.CPI_IDLE_AFTER_MS,
    maxClockSkewMs: env.CPI_MAX_CLOCK_SKEW_MS,
    sweepIntervalMs: env.CPI_SWEEP_INTERVAL_MS,
    fetchBytesPerPartition: env.CPI_PROCESSOR_FETCH_BYTES,
    concurrentPartitions: env.CPI_PROCESSOR_CONCURRENT_PARTITIONS,
    stateMaxBytes: env.CPI_PROCESSOR_STATE_MAX_BYTES,
    secondLane: env.CPI_PROCESSOR_SECOND_LANE === 'on',
    pseudonymizeKey: env.CPI_PSEUDONYMIZE_KEY,
  }
}

/** The built-in simulator: whether it runs, its rate, seed, target and backfill. */
function simulatorConfig(env: Environment) {
  return {
    // On by default where the product runs alone (local mode), so it is alive on first start.
    enabled: (env.CPI_SIMULATOR ?? (env.CPI_MODE === 'local' ? 'on' : 'off')) === 'on',
    ratePerSecond: env.CPI_SIMULATOR_RATE,
    seed: env.CPI_SIMULATOR_SEED,
    target: env.CPI_SIMULATOR_TARGET,
    backfillHours: env.CPI_SIMULATOR_BACKFILL_HOURS,
    experiment: env.CPI_SIMULATOR_EXPERIMENT === 'on',
  }
}

/** The read API's tokens, public URL, live stream bounds and rollup cache. */
function apiConfig(env: Environment) {
  return {
    readTokens: env.CPI_READ_TOKENS,
    publicUrl: (
      env.CPI_PUBLIC_URL ?? `http://${env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST}:${env.PORT}`
    ).replace(/\/$/, ''),
    streamIntervalMs: env.CPI_STREAM_INTERVAL_MS,
    streamMaxClients: env.CPI_STREAM_MAX_CLIENTS,
    streamMaxBufferBytes: env.CPI_STREAM_MAX_BUFFER_BYTES,
    /** Bytes of rollup blocks the API holds for series reads (0: every read queries the engine). */
    rollupCacheBytes: env.CPI_API_ROLLUP_CACHE_BYTES,
    experimentsFile: env.CPI_EXPERIMENTS_FILE,
  }
}

/** The alerter's schedule, alert policy and receivers. */
function alerterConfig(env: Environment) {
  return {
    enabled: env.CPI_ALERTER === 'on',
    topic: env.CPI_ALERTS_TOPIC,
    intervalMs: env.CPI_ALERT_INTERVAL_MS,
    lookbackMs: env.CPI_ALERT_LOOKBACK_MS,
    runbookUrl: env.CPI_RUNBOOK_URL,
    policy: {
      minEvents: env.CPI_ALERT_MIN_EVENTS,
      pendingForMs: env.CPI_ALERT_PENDING_MS,
      noDataAfterMs: env.CPI_ALERT_NO_DATA_MS,
      baselineWeeks: env.CPI_ALERT_BASELINE_WEEKS,
      baselineDrop: env.CPI_ALERT_BASELINE_DROP,
      baselineWindowMs: 3_600_000,
    },
    webhooks: env.CPI_ALERT_WEBHOOK_URLS ?? [],
    slackWebhooks: env.CPI_ALERT_SLACK_WEBHOOK_URLS ?? [],
    stallAfterMs: env.CPI_ALERT_STALL_MS,
    /** "About to breach" alerts: off while `withinMs` is 0. */
    breach: { withinMs: env.CPI_ALERT_BREACH_WITHIN_MS, minInteractions: env.CPI_ALERT_BREACH_MIN },
    webhookTimeoutMs: env.CPI_ALERT_WEBHOOK_TIMEOUT_MS,
    deliveryAttempts: env.CPI_ALERT_DELIVERY_ATTEMPTS,
  }
}

export const configSchema = environmentShape
  .superRefine((env, context) => {
    if (
      env.CLICKHOUSE_URL &&
      env.CLICKHOUSE_PASSWORD === '' &&
      !/^https?:\/\/(localhost|127\.)/.test(env.CLICKHOUSE_URL)
    ) {
      context.addIssue({
        code: 'custom',
        path: ['CLICKHOUSE_PASSWORD'],
        message: 'a remote CLICKHOUSE_URL needs CLICKHOUSE_PASSWORD (empty passwords only on localhost)',
      })
    }
    if (env.KAFKA_SSL === 'off' && env.KAFKA_SSL_CA_FILE)
      context.addIssue({
        code: 'custom',
        path: ['KAFKA_SSL_CA_FILE'],
        message: 'a CA file needs TLS: set KAFKA_SSL=on or leave KAFKA_SSL unset',
      })
    if (env.KAFKA_SASL_MECHANISM) {
      for (const variable of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const)
        if (!env[variable])
          context.addIssue({
            code: 'custom',
            path: [variable],
            message: `KAFKA_SASL_MECHANISM=${env.KAFKA_SASL_MECHANISM} needs ${variable}`,
          })
    } else if (env.KAFKA_SASL_USERNAME || env.KAFKA_SASL_PASSWORD) {
      context.addIssue({
        code: 'custom',
        path: ['KAFKA_SASL_MECHANISM'],
        message:
          'a SASL username or password needs KAFKA_SASL_MECHANISM (plain, scram-sha-256, scram-sha-512)',
      })
    }
    // Node refuses a server whose headers may take longer than the whole request.
    if (env.CPI_HTTP_HEADERS_TIMEOUT_MS > env.CPI_HTTP_REQUEST_TIMEOUT_MS)
      context.addIssue({
        code: 'custom',
        path: ['CPI_HTTP_HEADERS_TIMEOUT_MS'],
        message: `expected at most CPI_HTTP_REQUEST_TIMEOUT_MS (${env.CPI_HTTP_REQUEST_TIMEOUT_MS})`,
      })
    // Deliveries are recorded by receiver name: two receivers of one name would settle each other's.
    const seen = new Set(['kafka'])
    for (const variable of ['CPI_ALERT_WEBHOOK_URLS', 'CPI_ALERT_SLACK_WEBHOOK_URLS'] as const)
      for (const { name } of env[variable] ?? []) {
        if (seen.has(name))
          context.addIssue({
            code: 'custom',
            path: [variable],
            message: `receiver name ${name} is taken (by another receiver${name === 'kafka' ? ', or the alerts topic' : ''}): give each its own name=`,
          })
        seen.add(name)
      }
  })
  .transform(toConfig)

export type Config = z.infer<typeof configSchema>

/** Parses the whole configuration once, at start-up; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return parseEnv(configSchema, env, { secrets: secretVariableNames })
}

/**
 * For a process's main: the configuration, or the message naming each bad variable on
 * standard error and exit code 2 (a configuration error, not a crash).
 */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(2)
  }
}
