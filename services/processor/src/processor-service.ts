import { setTimeout as sleep } from 'node:timers/promises'
import type { ClickHouse } from '@cpi/clickhouse'
import type { Config } from '@cpi/config'
import { builtinCatalogFile, loadCatalog, revisionHorizonMs } from '@cpi/cpi-core'
import { BatchingProducer, ensureTopics } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import type { Kafka } from 'kafkajs'
import type { Registry } from 'prom-client'
import { createDeadLetterRecorder } from './dead-letter-recorder.ts'
import { createEventProcessor } from './event-processor.ts'
import { createPseudonymizer } from './pseudonymize.ts'

/**
 * Wires the processor's consumers: the events topic → `events` (or the dead-letter topic),
 * and the dead-letter topic → `rejected_events`. Used by main.ts and the all-in-one process.
 */
export async function startProcessor(deps: {
  config: Config
  kafka: Kafka
  clickhouse: ClickHouse
  registry: Registry
  logger: Logger
  /** The wall clock (tests pass their own). */
  now?: () => number
}) {
  const { config, kafka, clickhouse, registry, logger } = deps
  // The catalog is validated at start: a broken definition stops the process with its reason.
  const catalog = await loadCatalog([builtinCatalogFile, ...config.processor.catalogFiles])
  const producer = new BatchingProducer(kafka, { logger })
  const processor = createEventProcessor({
    kafka,
    clickhouse,
    producer,
    topics: config.topics,
    groupId: config.processor.groupId,
    registry,
    logger,
    limits: config.ingest.limits,
    deadLetterMaxRawBytes: config.ingest.deadLetterMaxRawBytes,
    catalog,
    consumerConfig: {
      sessionTimeout: config.kafka.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(config.kafka.sessionTimeoutMs / 10)),
      // Bigger batches amortize each batch's fixed cost (three ClickHouse round trips, a commit).
      maxBytesPerPartition: config.processor.fetchBytesPerPartition,
      maxBytes: config.processor.fetchBytesPerPartition * 4,
    },
    concurrentPartitions: config.processor.concurrentPartitions,
    stateMaxBytes: config.processor.stateMaxBytes,
    pseudonymize: config.processor.pseudonymizeKey
      ? createPseudonymizer(config.processor.pseudonymizeKey)
      : undefined,
    time: {
      idleAfterMs: config.processor.idleAfterMs,
      // Unset: the catalog's longest wait plus a day (8 days for the built-in catalog).
      allowedLatenessMs: config.processor.allowedLatenessMs ?? revisionHorizonMs(catalog),
      maxClockSkewMs: config.processor.maxClockSkewMs,
    },
    ...(deps.now ? { now: deps.now } : {}),
  })
  const recorder = createDeadLetterRecorder({
    kafka,
    clickhouse,
    topic: config.topics.deadLetter,
    groupId: `${config.processor.groupId}-dead-letters`,
    logger,
    registry,
  })

  // Kafka may not be there yet (or be restarting): keep trying in the background, with
  // backoff, instead of failing the process; readiness reports "consumers" down meanwhile.
  let stopping = false
  const steps = [
    () =>
      ensureTopics(kafka, [
        { topic: config.topics.events, numPartitions: config.topics.eventsPartitions },
        { topic: config.topics.deadLetter, numPartitions: 1 },
      ]),
    () => producer.connect(),
    () => processor.start(),
    () => recorder.start(),
  ]
  const started = (async () => {
    let step = 0
    for (let attempt = 1; step < steps.length && !stopping; attempt++) {
      try {
        await (steps[step] as () => Promise<void>)()
        step++
        attempt = 0
      } catch (error) {
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6))
        logger.warn({ err: error, retryInMs: delay }, 'processor could not start yet; retrying')
        await sleep(delay)
      }
    }
    if (!stopping)
      logger.info(
        {
          groupId: config.processor.groupId,
          cpis: catalog.length,
          revisionHorizonMs: config.processor.allowedLatenessMs ?? revisionHorizonMs(catalog),
          pseudonymized: config.processor.pseudonymizeKey !== undefined,
        },
        'processor consuming',
      )
  })()

  let sweeping: Promise<unknown> = Promise.resolve()
  const sweeper = setInterval(() => {
    sweeping = processor
      .sweep()
      .catch((error: unknown) => logger.warn({ err: error }, 'sweep failed; next one retries'))
  }, config.processor.sweepIntervalMs)

  return {
    processor,
    recorder,
    /** Resolves once both consumers run (for tests and tools that need it). */
    started,
    isHealthy: () => processor.consumer.isHealthy() && recorder.consumer.isHealthy(),
    /** Consumers first (each finishes its batch), then the producer flushes what they sent. */
    catalog,
    async stop() {
      stopping = true
      clearInterval(sweeper)
      await sweeping
      await Promise.all([processor.stop(), recorder.stop()])
      // A sweep's upkeep may outlast the sweep that started it (a later sweep failed first).
      await processor.idle()
      if (producer.isConnected) await producer.disconnect()
    },
  }
}

export type Processor = Awaited<ReturnType<typeof startProcessor>>
