// The query API and live dashboard as a process of their own (the production shape). Stateless:
// run as many as needed behind a load balancer.
import { createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { loadConfigOrExit } from '@cpi/config'
import { createKafka } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { createHttpServer, createMetricsRegistry, serveProcess } from '@cpi/runtime'
import { startApi } from './api-service.ts'

const config = loadConfigOrExit()
const logger = createLogger({ service: 'api', level: config.log.level })
const clickhouse = createClickHouse(config.clickhouse)
await migrateToLatest(clickhouse)
const kafka = createKafka({ ...config.kafka, logger })
const registry = createMetricsRegistry({ service: 'api' })
const http = createHttpServer(logger)
const api = await startApi({ config, clickhouse, http, logger, kafka })

await serveProcess({
  logger,
  http,
  registry,
  settings: config,
  checks: [{ name: 'clickhouse', check: () => clickhouse.ping() }],
  steps: [
    // Open live streams would keep the server from closing.
    { name: 'streams', run: async () => api.stop() },
    { name: 'http', run: () => http.close() },
    { name: 'clickhouse', run: () => clickhouse.close() },
  ],
  message: 'API and dashboard listening',
})
