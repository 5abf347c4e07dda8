import { type ClickHouse, createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import type { Config } from '@cpi/config'
import { createKafka, kafkaReachable } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { createHttpServer, createShutdown, registerHealthRoutes } from '@cpi/runtime'
import type { FastifyInstance } from 'fastify'

export interface AllInOne {
  http: FastifyInstance
  clickhouse: ClickHouse
  /** The address the HTTP server listens on, e.g. http://127.0.0.1:8080. */
  url: string
  shutdown(reason: string): Promise<void>
  /** SIGINT/SIGTERM start the shutdown (only the process's own main calls this). */
  installSignalHandlers(): void
}

/**
 * The all-in-one composition root: every service of the pipeline in one process, behind one
 * HTTP port. Each service will be wired here exactly as its own main.ts wires it alone.
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

  const kafka = createKafka({ ...config.kafka, logger })
  const http = createHttpServer(logger)

  const lifecycle = createShutdown({
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    ...(options.exit ? { exit: options.exit } : {}),
    steps: () => [
      { name: 'http', run: () => http.close() },
      { name: 'clickhouse', run: () => clickhouse.close() },
    ],
  })

  registerHealthRoutes(http, {
    timeoutMs: config.readyCheckTimeoutMs,
    isShuttingDown: lifecycle.isShuttingDown,
    checks: [
      { name: 'kafka', check: () => kafkaReachable(kafka, config.readyCheckTimeoutMs) },
      { name: 'clickhouse', check: () => clickhouse.ping() },
    ],
  })

  const address = await http.listen({ port: config.http.port, host: config.http.host })
  return {
    http,
    clickhouse,
    url: address,
    shutdown: lifecycle.shutdown,
    installSignalHandlers: lifecycle.installSignalHandlers,
  }
}
