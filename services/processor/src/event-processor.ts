import { type ClickHouse, insertEvents, type RawEventRow } from '@cpi/clickhouse'
import { type Batch, BatchConsumer, type BatchingProducer } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { counter, histogram, rejectedEventsCounter } from '@cpi/runtime'
import { encodeDeadLetterHeaders, type ValidationLimits } from '@cpi/schemas'
import type { Kafka, Message } from 'kafkajs'
import type { Registry } from 'prom-client'
import { decideMessage } from './message-outcome.ts'

export interface EventProcessorDependencies {
  kafka: Kafka
  clickhouse: ClickHouse
  producer: BatchingProducer
  topics: { events: string; deadLetter: string }
  groupId: string
  registry: Registry
  logger: Logger
  limits?: Partial<ValidationLimits>
  consumerConfig?: ConstructorParameters<typeof BatchConsumer>[0]['consumerConfig']
}

/**
 * The processor's first stage: every message of the events topic is validated again and
 * either written to the raw `events` table or sent to the dead-letter topic with its reason.
 * The batch's offsets are committed only after ClickHouse and Kafka acknowledged both, so a
 * crash replays the batch; rows are idempotent and dead letters are deduplicated by their
 * source position downstream. One bad message never blocks its partition.
 */
export function createEventProcessor(deps: EventProcessorDependencies) {
  const logger = deps.logger.child({ component: 'processor' })
  const outcomes = counter(deps.registry, {
    name: 'cpi_processor_events_total',
    help: 'Messages of the events topic by outcome',
    labelNames: ['outcome'] as const,
  })
  const rejections = rejectedEventsCounter(deps.registry)
  const batchSizes = histogram(deps.registry, {
    name: 'cpi_processor_batch_size',
    help: 'Messages per processed batch',
    buckets: [1, 10, 50, 100, 500, 1000, 5000, 10_000],
  })
  const insertSeconds = histogram(deps.registry, {
    name: 'cpi_processor_write_seconds',
    help: 'Time to make one batch durable (ClickHouse insert and dead letters)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  })

  async function handleBatch(batch: Batch): Promise<void> {
    const rows: RawEventRow[] = []
    const deadLetters: Message[] = []
    for (const message of batch.messages) {
      const outcome = decideMessage(message, { topic: batch.topic, partition: batch.partition }, deps.limits)
      if (outcome.kind === 'ok') {
        rows.push(outcome.row)
      } else {
        deadLetters.push({
          key: outcome.key,
          value: outcome.raw,
          headers: encodeDeadLetterHeaders(outcome.letter),
        })
        logger.debug(
          { partition: batch.partition, offset: message.offset, reason: outcome.letter.reason },
          'event dead-lettered',
        )
      }
    }
    const started = performance.now()
    await Promise.all([
      insertEvents(deps.clickhouse, rows),
      deps.producer.send(deps.topics.deadLetter, deadLetters),
    ])
    insertSeconds.observe((performance.now() - started) / 1000)
    batchSizes.observe(batch.messages.length)
    // Counted once durable: a batch retried after a failure is not counted twice.
    outcomes.inc({ outcome: 'ok' }, rows.length)
    outcomes.inc({ outcome: 'dead_letter' }, deadLetters.length)
    for (const letter of deadLetters) {
      const reason = letter.headers?.['cpi-reject-reason']
      rejections.inc({ origin: 'processor', reason: typeof reason === 'string' ? reason : 'unknown' })
    }
  }

  const consumer = new BatchConsumer({
    kafka: deps.kafka,
    groupId: deps.groupId,
    topics: [deps.topics.events],
    logger,
    handleBatch,
    ...(deps.consumerConfig ? { consumerConfig: deps.consumerConfig } : {}),
  })
  return { consumer, handleBatch, start: () => consumer.start(), stop: () => consumer.stop() }
}
