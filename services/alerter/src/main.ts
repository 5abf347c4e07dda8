// The alerter as a process of its own (the production shape). Run one instance: it keeps its
// progress in ClickHouse, so a restarted or replacement instance continues where it stopped.
import { applyRetention, createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { loadConfigOrExit } from '@cpi/config'
import { createKafka, kafkaReachable } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { createHttpServer, createMetricsRegistry, serveProcess } from '@cpi/runtime'
import { pipelineCheck, startAlerter } from './alerter-service.ts'

const config = loadConfigOrExit()
const logger = createLogger({ service: 'alerter', level: config.log.level })
const clickhouse = createClickHouse(config.clickhouse)
await migrateToLatest(clickhouse)
// Retention of the alerter's tables (the processor sets that of the events).
const retention = await applyRetention(clickhouse, { alertsDays: config.retention.alertsDays })
if (retention.changed.length > 0) logger.info({ changed: retention.changed }, 'retention applied')
const kafka = createKafka({ ...config.kafka, logger })
const registry = createMetricsRegistry({ service: 'alerter' })
const alerter = await startAlerter({ config, clickhouse, kafka, registry, logger })
const http = createHttpServer(logger)

await serveProcess({
  logger,
  http,
  registry,
  settings: config,
  checks: [
    { name: 'kafka', check: () => kafkaReachable(kafka, config.readyCheckTimeoutMs) },
    { name: 'clickhouse', check: () => clickhouse.ping() },
    pipelineCheck(alerter),
  ],
  steps: [
    { name: 'alerter', run: () => alerter.stop() },
    { name: 'http', run: () => http.close() },
    { name: 'clickhouse', run: () => clickhouse.close() },
  ],
  message: 'alerter running',
})
