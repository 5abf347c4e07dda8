// The ingest gateway as a process of its own (the production shape): HTTP in, Kafka out.
import { runService } from '@cpi/service'
import { startIngestGateway } from './ingest-gateway.ts'
import { ingestRunning } from './running.ts'

await runService({
  name: 'ingest',
  http: (config) => ({ bodyLimitBytes: config.ingest.maxBodyBytes, limits: config.httpLimits }),
  start: async ({ config, kafka, http, registry, logger }) =>
    ingestRunning(await startIngestGateway({ config, kafka, http, registry, logger })),
})
