import { type Alerter, alerterRunning, startAlerter } from '@cpi/alerter'
import { type Api, apiRunning, startApi } from '@cpi/api'
import { applyRetention, type ClickHouse, createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import type { Config } from '@cpi/config'
import {
  type IngestGateway,
  ingestKeysFor,
  ingestRunning,
  startAccessKeys,
  startIngestGateway,
} from '@cpi/ingest'
import { createKafka, kafkaReachable } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { type Processor, processorRunning, startProcessor } from '@cpi/processor'
import {
  createHttpServer,
  createMetricsRegistry,
  createShutdown,
  registerHealthRoutes,
  registerMetricsRoute,
  type ShutdownStep,
} from '@cpi/runtime'
import { type RunningService, recordStatementMetrics } from '@cpi/service'
import { httpSink, kafkaSink, startSimulator } from '@cpi/simulator'
import type { FastifyInstance } from 'fastify'

export interface AllInOne {
  http: FastifyInstance
  clickhouse: ClickHouse
  ingest: IngestGateway
  processor: Processor
  api: Api
  alerter: Alerter | undefined
  /** The address the HTTP server listens on, e.g. http://127.0.0.1:8080. */
  url: string
  shutdown(reason: string): Promise<void>
  /** SIGINT/SIGTERM start the shutdown (only the process's own main calls this). */
  installSignalHandlers(): void
}

/**
 * The all-in-one composition root: every service of the pipeline in one process, behind one
 * HTTP port, wired exactly as each service's own main.ts wires it alone.
 */
export async function startAllInOne(
  config: Config,
  logger: Logger,
  options: { exit?: (code: number) => void } = {},
): Promise<AllInOne> {
  const clickhouse = createClickHouse(config.clickhouse)
  const migrations = await migrateToLatest(clickhouse)
  logger.info(
    { engine: clickhouse.kind, version: await clickhouse.version(), ...migrations },
    'ClickHouse ready',
  )
  const retention = await applyRetention(clickhouse, config.retention)
  if (retention.changed.length > 0) logger.info({ changed: retention.changed }, 'retention applied')

  const kafka = createKafka({ ...config.kafka, logger })
  const http = createHttpServer(logger, {
    bodyLimitBytes: config.ingest.maxBodyBytes,
    limits: config.httpLimits,
  })
  const registry = createMetricsRegistry({ service: 'all-in-one' })
  const stopStatementMetrics = recordStatementMetrics(registry)

  // One set of keys for the gateway and the API: the keys file is watched once.
  const ingestKeys = await ingestKeysFor(config, logger)
  const access = await startAccessKeys(config, logger, ingestKeys)
  const ingest = await startIngestGateway({
    config,
    kafka,
    http,
    registry,
    logger,
    access: { source: access, ingestKeys },
  })
  const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
  const api = await startApi({ config, clickhouse, http, logger, kafka, access })
  const alerter = config.alerter.enabled
    ? await startAlerter({ config, clickhouse, kafka, registry, logger, catalog: api.catalog })
    : undefined

  let simulator: Awaited<ReturnType<typeof startSimulator>> | undefined
  // In the order their readiness checks are listed.
  const running = {
    api: apiRunning(api),
    processor: processorRunning(processor),
    alerter: alerter ? alerterRunning(alerter) : undefined,
    ingest: ingestRunning(ingest),
  }
  const lifecycle = createShutdown({
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    ...(options.exit ? { exit: options.exit } : {}),
    steps: () => [
      { name: 'simulator', run: async () => simulator?.stop() },
      ...sharedShutdown(running, http),
      { name: 'keys', run: async () => access.stop() },
      { name: 'clickhouse', run: () => clickhouse.close() },
      { name: 'statement metrics', run: async () => stopStatementMetrics() },
    ],
  })
  registerHealthRoutes(http, {
    timeoutMs: config.readyCheckTimeoutMs,
    isShuttingDown: lifecycle.isShuttingDown,
    checks: [
      { name: 'kafka', check: () => kafkaReachable(kafka, config.readyCheckTimeoutMs) },
      { name: 'clickhouse', check: () => clickhouse.ping() },
      // Each service's own readiness, as its main.ts serves it (a stalled partition: advisory).
      ...Object.values(running).flatMap((service) => service?.ready ?? []),
    ],
  })
  registerMetricsRoute(http, registry)

  const address = await http.listen({ port: config.http.port, host: config.http.host })
  const simulatorKey = ingest.keys[0]
  if (config.simulator.enabled && config.simulator.target === 'http' && simulatorKey === undefined) {
    // Production mode with a keys file generates no ingest key the simulator could send with.
    logger.error(
      'the simulator is not started: its http target needs CPI_INGEST_KEYS (production mode with CPI_KEYS_FILE generates no key); set it, or CPI_SIMULATOR_TARGET=kafka',
    )
  } else if (config.simulator.enabled) {
    const sink =
      config.simulator.target === 'http'
        ? httpSink({ url: address, key: simulatorKey as string })
        : kafkaSink(ingest.producer, config.topics.events)
    simulator = await startSimulator({ ...config.simulator, dataDir: config.dataDir }, sink, logger)
  }
  return {
    http,
    clickhouse,
    ingest,
    processor,
    api,
    alerter,
    url: address,
    shutdown: lifecycle.shutdown,
    installSignalHandlers: lifecycle.installSignalHandlers,
  }
}

/**
 * The services' own drain and stop steps (the ones each main.ts runs alone) in the order one
 * process needs: live streams end and the alerter stops, the server stops taking requests (those
 * in flight finish and their events are acknowledged), the gateway's producer flushes, and only
 * then the consumers stop (each finishes its batch and commits), so what was accepted last is
 * processed before the process exits.
 */
function sharedShutdown(
  running: Record<'api' | 'processor' | 'ingest', RunningService> & { alerter: RunningService | undefined },
  http: FastifyInstance,
): ShutdownStep[] {
  return [
    ...(running.api.drain ?? []),
    ...(running.alerter?.drain ?? []),
    { name: 'http', run: () => http.close() },
    ...(running.ingest.stop ?? []),
    ...(running.processor.drain ?? []),
  ]
}
