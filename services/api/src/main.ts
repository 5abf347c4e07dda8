// The query API and live dashboard as a process of their own (the production shape). Stateless:
// run as many as needed behind a load balancer.
import { createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { loadConfigOrExit } from '@cpi/config'
import { createKafka } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import {
  createHttpServer,
  createMetricsRegistry,
  createShutdown,
  registerHealthRoutes,
  registerMetricsRoute,
} from '@cpi/runtime'
import { startApi } from './api-service.ts'

const config = loadConfigOrExit()

const logger = createLogger({ service: 'api', level: config.log.level })
const clickhouse = createClickHouse(config.clickhouse)
await migrateToLatest(clickhouse)
const kafka = createKafka({ ...config.kafka, logger })
const registry = createMetricsRegistry({ service: 'api' })
const http = createHttpServer(logger)
const api = await startApi({ config, clickhouse, http, logger, kafka })

const lifecycle = createShutdown({
  logger,
  timeoutMs: config.shutdownTimeoutMs,
  steps: () => [
    { name: 'streams', run: async () => api.stop() },
    { name: 'http', run: () => http.close() },
    { name: 'clickhouse', run: () => clickhouse.close() },
  ],
})
registerHealthRoutes(http, {
  timeoutMs: config.readyCheckTimeoutMs,
  isShuttingDown: lifecycle.isShuttingDown,
  checks: [{ name: 'clickhouse', check: () => clickhouse.ping() }],
})
registerMetricsRoute(http, registry)
lifecycle.installSignalHandlers()
const address = await http.listen({ port: config.http.port, host: config.http.host })
logger.info({ address }, 'API and dashboard listening')
