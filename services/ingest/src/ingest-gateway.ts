import type { Config } from '@cpi/config'
import { BatchingProducer, ensureTopics } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import type { FastifyInstance } from 'fastify'
import type { Kafka } from 'kafkajs'
import type { Registry } from 'prom-client'
import { registerIngestRoutes } from './ingest.routes.ts'
import { createKeyring, loadOrCreateLocalKey } from './ingest-keys.ts'
import { createIngestService } from './ingest-service.ts'
import { TokenBuckets } from './token-bucket.ts'

export interface IngestGateway {
  producer: BatchingProducer
  /** The keys a local client (the simulator) may use; the configured ones, or the generated one. */
  keys: string[]
  /** Settles once topics exist and the producer connected (or that failed for now). */
  ready: Promise<void>
  stop(): Promise<void>
}

/**
 * Wires the gateway onto an HTTP server: topics, producer, keys, routes. Used by the
 * gateway's own main.ts and by the all-in-one process alike.
 */
export async function startIngestGateway(deps: {
  config: Config
  kafka: Kafka
  http: FastifyInstance
  registry: Registry
  logger: Logger
}): Promise<IngestGateway> {
  const { config, kafka, http, registry } = deps
  const logger = deps.logger.child({ component: 'ingest' })

  let keys = config.ingest.keys
  if (!keys) {
    const local = await loadOrCreateLocalKey(config.dataDir)
    if (local.created) {
      // Printed once, on the start that created it; afterwards it is only in the file.
      process.stdout.write(
        `\n  Ingest key (generated for local mode, saved in ${local.file}):\n    ${local.key}\n\n`,
      )
    }
    logger.info({ file: local.file }, 'ingest key loaded from the data directory')
    keys = [local.key]
  }

  const producer = new BatchingProducer(kafka, { logger })
  // Not awaited: the gateway serves at once. Until Kafka answers, requests get 503 and
  // readiness says why; the producer connects on its first send if this has not yet.
  const ready = (async () => {
    await ensureTopics(kafka, [
      { topic: config.topics.events, numPartitions: config.topics.eventsPartitions },
      { topic: config.topics.deadLetter, numPartitions: 1 },
    ])
    await producer.connect()
  })().catch((error: unknown) =>
    logger.warn({ err: error }, 'Kafka not reachable at start; will retry on first request'),
  )

  const service = createIngestService({
    producer,
    topics: config.topics,
    limits: config.ingest.limits,
    rateLimiter: new TokenBuckets(config.ingest.rateLimitPerSecond, config.ingest.rateBurst),
    produceTimeoutMs: config.ingest.produceTimeoutMs,
    registry,
    logger,
  })
  registerIngestRoutes(http, {
    service,
    keyring: createKeyring(keys),
    maxBodyBytes: config.ingest.maxBodyBytes,
  })

  return {
    producer,
    keys,
    ready,
    async stop() {
      await producer.disconnect()
    },
  }
}
