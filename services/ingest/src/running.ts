import type { RunningService } from '@cpi/service'
import type { IngestGateway } from './ingest-gateway.ts'

/** The gateway in the shape every service shares: the HTTP server closes first, then the producer flushes. */
export const ingestRunning = (gateway: IngestGateway): RunningService => ({
  ready: [],
  stop: [{ name: 'producer', run: () => gateway.stop() }],
  message: 'ingest gateway listening',
})
