import {
  applyRetention,
  type ClickHouse,
  createClickHouse,
  migrateToLatest,
  type RetentionSettings,
} from '@cpi/clickhouse'
import { type Config, loadConfigOrExit } from '@cpi/config'
import { createKafka, kafkaReachable } from '@cpi/kafka'
import { createLogger, type Logger } from '@cpi/logger'
import {
  createHttpServer,
  createMetricsRegistry,
  type ReadinessCheck,
  type ShutdownStep,
  serveProcess,
} from '@cpi/runtime'
import type { FastifyInstance } from 'fastify'
import type { Kafka } from 'kafkajs'
import type { Registry } from 'prom-client'
import { recordStatementMetrics } from './statement-metrics.ts'

/** What every service is given at start: its configuration and the shared clients. */
export interface ServiceContext {
  config: Config
  logger: Logger
  registry: Registry
  http: FastifyInstance
  kafka: Kafka
  /** The database, for a service that declared it uses ClickHouse (others get an error naming that). */
  clickhouse: ClickHouse
}

/** A started service, in the shape every service shares. */
export interface RunningService {
  /** What readiness (`/readyz`) checks beyond the shared clients. */
  ready: readonly ReadinessCheck[]
  /** Stops taking work: run before the HTTP server closes (consumers, open streams). */
  drain?: readonly ShutdownStep[]
  /** Finishes what was taken: run after the HTTP server closed (producers flushing). */
  stop?: readonly ShutdownStep[]
  /** Logged once the process serves. */
  message: string
}

/** How a service is run: its name, what it needs, and how it starts. */
export interface ServiceDefinition {
  name: string
  /** The ClickHouse database, migrated at start, with the retention of the tables it writes. */
  clickhouse?: { retention: (config: Config) => RetentionSettings }
  /** Whether readiness waits for Kafka (default true; the API reads without it). */
  kafkaReadiness?: boolean
  /** The HTTP server's options beyond the defaults (the ingest gateway's body limit). */
  http?: (config: Config) => Parameters<typeof createHttpServer>[1]
  start: (context: ServiceContext) => Promise<RunningService>
}

/**
 * The one start-up of every service process: configuration (exits naming every bad variable),
 * logger, ClickHouse (migrated, retention applied) when used, Kafka, metrics (ClickHouse
 * statements included), the service itself, then `/healthz`, `/readyz`, `/metrics` and an
 * ordered shutdown — drain, HTTP, stop, ClickHouse — on SIGINT/SIGTERM. Returns the address.
 */
export async function runService(definition: ServiceDefinition): Promise<string> {
  const config = loadConfigOrExit()
  const logger = createLogger({ service: definition.name, level: config.log.level })
  const clickhouse = definition.clickhouse
    ? await openClickHouse(config, logger, definition.clickhouse)
    : undefined
  const kafka = createKafka({ ...config.kafka, logger })
  const registry = createMetricsRegistry({ service: definition.name })
  if (clickhouse) recordStatementMetrics(registry)
  const http = createHttpServer(logger, definition.http?.(config))
  const service = await definition.start({
    config,
    logger,
    registry,
    http,
    kafka,
    get clickhouse(): ClickHouse {
      if (!clickhouse)
        throw new Error(`the ${definition.name} service did not declare that it uses ClickHouse`)
      return clickhouse
    },
  })
  return serveProcess({
    logger,
    http,
    registry,
    settings: config,
    checks: [
      ...sharedChecks(config, definition.kafkaReadiness === false ? undefined : kafka, clickhouse),
      ...service.ready,
    ],
    steps: [
      ...(service.drain ?? []),
      { name: 'http', run: () => http.close() },
      ...(service.stop ?? []),
      ...(clickhouse ? [{ name: 'clickhouse', run: () => clickhouse.close() }] : []),
    ],
    message: service.message,
  })
}

/** The database, migrated to the latest schema, with this service's retention applied. */
async function openClickHouse(
  config: Config,
  logger: Logger,
  uses: NonNullable<ServiceDefinition['clickhouse']>,
): Promise<ClickHouse> {
  const clickhouse = createClickHouse(config.clickhouse)
  await migrateToLatest(clickhouse)
  const retention = await applyRetention(clickhouse, uses.retention(config))
  if (retention.changed.length > 0) logger.info({ changed: retention.changed }, 'retention applied')
  return clickhouse
}

/** Readiness of the shared clients the service depends on. */
function sharedChecks(
  config: Config,
  kafka: Kafka | undefined,
  clickhouse: ClickHouse | undefined,
): ReadinessCheck[] {
  return [
    ...(kafka ? [{ name: 'kafka', check: () => kafkaReachable(kafka, config.readyCheckTimeoutMs) }] : []),
    ...(clickhouse ? [{ name: 'clickhouse', check: () => clickhouse.ping() }] : []),
  ]
}
