export { type DecodedBody, decodeBody, type RequestItem } from './decode-body.ts'
export { registerIngestRoutes } from './ingest.routes.ts'
export {
  type IngestGateway,
  type IngestKeys,
  ingestKeysFor,
  startAccessKeys,
  startIngestGateway,
} from './ingest-gateway.ts'
export { createKeyring, type Keyring, keyFingerprint, loadOrCreateLocalKey } from './ingest-keys.ts'
export { createIngestService, type IngestService } from './ingest-service.ts'
export { ingestRunning } from './running.ts'
export { TokenBuckets } from './token-bucket.ts'
