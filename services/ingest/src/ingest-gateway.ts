import type { Config } from '@cpi/config'
import { BatchingProducer, ensureTopics } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { environmentKeyEntries, type KeySource, startKeySource } from '@cpi/runtime'
import type { FastifyInstance } from 'fastify'
import type { Kafka } from 'kafkajs'
import type { Registry } from 'prom-client'
import { registerIngestRoutes } from './ingest.routes.ts'
import { loadOrCreateLocalKey } from './ingest-keys.ts'
import { createIngestService } from './ingest-service.ts'
import { TokenBuckets } from './token-bucket.ts'

/** The configuration the gateway reads: its own slice, access keys, the API's read tokens, the topics. */
export type IngestConfig = Pick<Config, 'ingest' | 'access' | 'mode' | 'dataDir' | 'api' | 'topics'>

export interface IngestGateway {
  producer: BatchingProducer
  /** The keys a local client (the simulator) may use; the configured ones, or the generated one. */
  keys: string[]
  /** Settles once topics exist and the producer connected (or that failed for now). */
  ready: Promise<void>
  stop(): Promise<void>
}

export interface IngestKeys {
  /** The keys a local client (the simulator) may send with. */
  keys: string[]
  /** The generated key of `<dataDir>/ingest-key`, when that is where the keys come from. */
  localKey?: string
}

/**
 * CPI_INGEST_KEYS, or else the key generated once into `<dataDir>/ingest-key` (printed on the
 * start that creates it). Production mode with a keys file (CPI_KEYS_FILE) generates none: its
 * ingest keys are the file's.
 */
export async function ingestKeysFor(config: IngestConfig, logger: Logger): Promise<IngestKeys> {
  if (config.ingest.keys) return { keys: config.ingest.keys }
  if (config.mode === 'production' && config.access.keysFile) return { keys: [] }
  const local = await loadOrCreateLocalKey(config.dataDir)
  if (local.created) {
    // Printed once, on the start that created it; afterwards it is only in the file.
    process.stdout.write(
      `\n  Ingest key (generated for local mode, saved in ${local.file}):\n    ${local.key}\n\n`,
    )
  }
  logger.info({ file: local.file }, 'ingest key loaded from the data directory')
  return { keys: [local.key], localKey: local.key }
}

/**
 * Every key the process accepts, with its scopes: the environment's (CPI_INGEST_KEYS or the
 * generated one, CPI_READ_TOKENS) and the keys file's (CPI_KEYS_FILE), re-read as it changes.
 */
export function startAccessKeys(
  config: IngestConfig,
  logger: Logger,
  ingestKeys: IngestKeys,
): Promise<KeySource> {
  return startKeySource({
    base: environmentKeyEntries({
      ingestKeys: config.ingest.keys,
      readTokens: config.api.readTokens,
      localIngestKey: ingestKeys.localKey,
    }),
    file: config.access.keysFile,
    reloadMs: config.access.reloadMs,
    logger,
  })
}

/**
 * Wires the gateway onto an HTTP server: topics, producer, keys, routes. Used by the
 * gateway's own main.ts and by the all-in-one process alike (which passes the keys it shares
 * with the API, so the keys file is watched once).
 */
export async function startIngestGateway(deps: {
  config: IngestConfig
  kafka: Kafka
  http: FastifyInstance
  registry: Registry
  logger: Logger
  access?: { source: KeySource; ingestKeys: IngestKeys }
}): Promise<IngestGateway> {
  const { config, kafka, http, registry } = deps
  const logger = deps.logger.child({ component: 'ingest' })

  const ingestKeys = deps.access?.ingestKeys ?? (await ingestKeysFor(config, logger))
  const ownSource = deps.access ? undefined : await startAccessKeys(config, logger, ingestKeys)
  const access = deps.access?.source ?? (ownSource as KeySource)
  const keys = ingestKeys.keys

  // Bounded: while Kafka is slow or away, requests past the bound get 503 at once (not memory).
  const producer = new BatchingProducer(kafka, {
    logger,
    maxQueuedBytes: config.ingest.maxQueuedBytes,
    maxQueuedMessages: config.ingest.maxQueuedMessages,
  })
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
    deadLetterMaxRawBytes: config.ingest.deadLetterMaxRawBytes,
    registry,
    logger,
  })
  registerIngestRoutes(http, {
    service,
    keys: () => access.current(),
    maxBodyBytes: config.ingest.maxBodyBytes,
    maxDepth: config.ingest.limits.maxDepth,
  })

  return {
    producer,
    keys,
    ready,
    async stop() {
      ownSource?.stop()
      await producer.disconnect()
    },
  }
}
