import type { ClickHouse } from '@cpi/clickhouse'
import type { Config } from '@cpi/config'
import { builtinCatalogFile, type CpiDefinition, loadCatalog, revisionHorizonMs } from '@cpi/cpi-core'
import { BatchingProducer, ensureTopics } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { runStartSteps } from '@cpi/runtime'
import type { Kafka } from 'kafkajs'
import type { Registry } from 'prom-client'
import { createDeadLetterRecorder } from './dead-letter-recorder.ts'
import { createEventProcessor } from './event-processor.ts'
import { createPseudonymizer } from './pseudonymize.ts'

/** The configuration the processor reads: its own slice, the topics, Kafka's session, the validation limits. */
export type ProcessorConfig = Pick<Config, 'processor' | 'topics' | 'kafka' | 'ingest'>

interface ProcessorDependencies {
  config: ProcessorConfig
  kafka: Kafka
  clickhouse: ClickHouse
  registry: Registry
  logger: Logger
  /** The wall clock (tests pass their own). */
  now?: () => number
}

/**
 * Wires the processor's consumers: the events topic → `events` (or the dead-letter topic),
 * and the dead-letter topic → `rejected_events`. Used by main.ts and the all-in-one process.
 */
export async function startProcessor(deps: ProcessorDependencies) {
  const { config, kafka, clickhouse, registry, logger } = deps
  // The catalog is validated at start: a broken definition stops the process with its reason.
  const catalog = await loadCatalog([builtinCatalogFile, ...config.processor.catalogFiles])
  const producer = new BatchingProducer(kafka, { logger })
  const processor = eventProcessorOf(deps, catalog, producer)
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
  const started = runStartSteps(steps, { logger, what: 'processor', stopping: () => stopping }).then(
    (done) => {
      if (done)
        logger.info(
          {
            groupId: config.processor.groupId,
            cpis: catalog.length,
            revisionHorizonMs: config.processor.allowedLatenessMs ?? revisionHorizonMs(catalog),
            pseudonymized: config.processor.pseudonymizeKey !== undefined,
          },
          'processor consuming',
        )
    },
  )

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
    catalog,
    /** Consumers first (each finishes its batch), then the producer flushes what they sent. */
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

/** The event processor as the configuration sets it up. */
function eventProcessorOf(
  deps: ProcessorDependencies,
  catalog: readonly CpiDefinition[],
  producer: BatchingProducer,
) {
  const { config } = deps
  return createEventProcessor({
    kafka: deps.kafka,
    clickhouse: deps.clickhouse,
    producer,
    topics: config.topics,
    groupId: config.processor.groupId,
    registry: deps.registry,
    logger: deps.logger,
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
    secondLane: config.processor.secondLane,
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
}

export type Processor = Awaited<ReturnType<typeof startProcessor>>
