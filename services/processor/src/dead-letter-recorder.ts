import { type ClickHouse, insertRejectedEvents, type RejectedEventRow } from '@cpi/clickhouse'
import { type Batch, BatchConsumer } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { decodeDeadLetterHeaders } from '@cpi/schemas'
import type { Kafka } from 'kafkajs'

/** One dead letter as a `rejected_events` row. Pure. */
export function rejectedEventRow(
  message: Batch['messages'][number],
  position: { partition: number },
): RejectedEventRow {
  const letter = decodeDeadLetterHeaders(message.headers ?? {})
  const dedupKey = letter.source
    ? `${letter.source.topic}:${letter.source.partition}:${letter.source.offset}`
    : `dlq:${position.partition}:${message.offset}`
  return {
    dedup_key: dedupKey,
    origin: letter.origin,
    reason: letter.reason,
    errors: JSON.stringify(letter.errors),
    event_id: letter.eventId ?? '',
    event_type: letter.eventType ?? '',
    subject: letter.subject ?? '',
    sender: letter.sender ?? '',
    raw: message.value?.toString('utf8') ?? '',
    source_topic: letter.source?.topic ?? '',
    source_partition: letter.source?.partition ?? -1,
    source_offset: letter.source?.offset ?? -1,
    dlq_partition: position.partition,
    dlq_offset: message.offset,
    rejected_at: letter.rejectedAt,
  }
}

/** Copies the dead-letter topic into `rejected_events`, committing after each insert. */
export function createDeadLetterRecorder(deps: {
  kafka: Kafka
  clickhouse: ClickHouse
  topic: string
  groupId: string
  logger: Logger
}) {
  const consumer = new BatchConsumer({
    kafka: deps.kafka,
    groupId: deps.groupId,
    topics: [deps.topic],
    logger: deps.logger.child({ component: 'dead-letter-recorder' }),
    handleBatch: async (batch) =>
      insertRejectedEvents(
        deps.clickhouse,
        batch.messages.map((message) => rejectedEventRow(message, { partition: batch.partition })),
      ),
  })
  return { consumer, start: () => consumer.start(), stop: () => consumer.stop() }
}
