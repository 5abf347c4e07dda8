// The ingest gateway as a process of its own (the production shape): HTTP in, Kafka out.
import { runService } from '@cpi/service'
import { startIngestGateway } from './ingest-gateway.ts'

await runService({
  name: 'ingest',
  http: (config) => ({ bodyLimitBytes: config.ingest.maxBodyBytes, limits: config.httpLimits }),
  start: async ({ config, kafka, http, registry, logger }) => {
    const gateway = await startIngestGateway({ config, kafka, http, registry, logger })
    return {
      ready: [],
      // The HTTP server closes first (requests in flight finish), then the producer flushes.
      stop: [{ name: 'producer', run: () => gateway.stop() }],
      message: 'ingest gateway listening',
    }
  },
})
