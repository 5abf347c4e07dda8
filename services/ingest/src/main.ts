// The ingest gateway as a process of its own (the production shape): HTTP in, Kafka out.
import { loadConfigOrExit } from '@cpi/config'
import { createKafka, kafkaReachable } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { createHttpServer, createMetricsRegistry, serveProcess } from '@cpi/runtime'
import { startIngestGateway } from './ingest-gateway.ts'

const config = loadConfigOrExit()

const logger = createLogger({ service: 'ingest', level: config.log.level })
const kafka = createKafka({ ...config.kafka, logger })
const http = createHttpServer(logger, {
  bodyLimitBytes: config.ingest.maxBodyBytes,
  limits: config.httpLimits,
})
const registry = createMetricsRegistry({ service: 'ingest' })
const gateway = await startIngestGateway({ config, kafka, http, registry, logger })

await serveProcess({
  logger,
  http,
  registry,
  settings: config,
  checks: [{ name: 'kafka', check: () => kafkaReachable(kafka, config.readyCheckTimeoutMs) }],
  steps: [
    // Stop taking requests first; requests in flight finish, then the producer flushes.
    { name: 'http', run: () => http.close() },
    { name: 'producer', run: () => gateway.stop() },
  ],
  message: 'ingest gateway listening',
})
