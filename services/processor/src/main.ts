// The processor as a process of its own (the production shape), scaled out by running more
// of them in one consumer group.
import { applyRetention, createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { loadConfigOrExit } from '@cpi/config'
import { createKafka, kafkaReachable } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { createHttpServer, createMetricsRegistry, serveProcess } from '@cpi/runtime'
import { startProcessor } from './processor-service.ts'

const config = loadConfigOrExit()

const logger = createLogger({ service: 'processor', level: config.log.level })
const clickhouse = createClickHouse(config.clickhouse)
await migrateToLatest(clickhouse)
// Retention of the tables this process writes (the alerter sets its own).
const retention = await applyRetention(clickhouse, {
  eventsDays: config.retention.eventsDays,
  rejectedDays: config.retention.rejectedDays,
})
if (retention.changed.length > 0) logger.info({ changed: retention.changed }, 'retention applied')
const kafka = createKafka({ ...config.kafka, logger })
const registry = createMetricsRegistry({ service: 'processor' })
const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
const http = createHttpServer(logger)

await serveProcess({
  logger,
  http,
  registry,
  settings: config,
  checks: [
    { name: 'kafka', check: () => kafkaReachable(kafka, config.readyCheckTimeoutMs) },
    { name: 'clickhouse', check: () => clickhouse.ping() },
    { name: 'consumers', check: async () => processor.isHealthy() },
  ],
  steps: [
    { name: 'consumers', run: () => processor.stop() },
    { name: 'http', run: () => http.close() },
    { name: 'clickhouse', run: () => clickhouse.close() },
  ],
  message: 'processor running',
})
