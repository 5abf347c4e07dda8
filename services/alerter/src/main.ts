// The alerter as a process of its own (the production shape). Run one instance: it keeps its
// progress in ClickHouse, so a restarted or replacement instance continues where it stopped.
import { createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { loadConfigOrExit } from '@cpi/config'
import { createKafka, kafkaReachable } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import {
  createHttpServer,
  createMetricsRegistry,
  createShutdown,
  registerHealthRoutes,
  registerMetricsRoute,
} from '@cpi/runtime'
import { startAlerter } from './alerter-service.ts'

const config = loadConfigOrExit()

const logger = createLogger({ service: 'alerter', level: config.log.level })
const clickhouse = createClickHouse(config.clickhouse)
await migrateToLatest(clickhouse)
const kafka = createKafka({ ...config.kafka, logger })
const registry = createMetricsRegistry({ service: 'alerter' })
const alerter = await startAlerter({ config, clickhouse, kafka, registry, logger })
const http = createHttpServer(logger)

const lifecycle = createShutdown({
  logger,
  timeoutMs: config.shutdownTimeoutMs,
  steps: () => [
    { name: 'alerter', run: () => alerter.stop() },
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
registerMetricsRoute(http, registry)
lifecycle.installSignalHandlers()
await http.listen({ port: config.http.port, host: config.http.host })
logger.info('alerter running')
