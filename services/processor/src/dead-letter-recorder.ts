import { type ClickHouse, insertRejectedEvents, type RejectedEventRow } from '@cpi/clickhouse'
import { type Batch, BatchConsumer } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { counter } from '@cpi/runtime'
import { decodeDeadLetterHeaders } from '@cpi/schemas'
import type { Kafka } from 'kafkajs'
import type { Registry } from 'prom-client'
import { writeIsolatingRefusals } from './refused-rows.ts'

/** The row with every text field's lone surrogates replaced (U+FFFD): what a store can always take. */
export function wellFormedRow(row: RejectedEventRow): RejectedEventRow {
  const copy = { ...row } as Record<string, unknown>
  for (const [key, value] of Object.entries(copy)) {
    if (typeof value === 'string') copy[key] = value.toWellFormed()
  }
  return copy as unknown as RejectedEventRow
}

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
  registry?: Registry
}) {
  const lost = deps.registry
    ? counter(deps.registry, {
        name: 'cpi_dead_letters_lost_total',
        help: 'Dead letters the store refused even with their text made well-formed: logged, not stored',
      })
    : undefined
  const consumer = new BatchConsumer({
    kafka: deps.kafka,
    groupId: deps.groupId,
    topics: [deps.topic],
    logger: deps.logger.child({ component: 'dead-letter-recorder' }),
    handleBatch: async (batch) => {
      const rows = batch.messages.map((message) => rejectedEventRow(message, { partition: batch.partition }))
      const write = (part: readonly RejectedEventRow[]) => insertRejectedEvents(deps.clickhouse, part)
      // A row the store refuses must not hold the dead letters behind it: stored again with its
      // text made well-formed, and if even that is refused, logged and left out.
      const refused = await writeIsolatingRefusals(rows, write)
      const unstored = await writeIsolatingRefusals(
        refused.map(({ row }) => wellFormedRow(row)),
        write,
      )
      lost?.inc(unstored.length)
      for (const { row, error } of unstored) {
        deps.logger.error(
          { dlqPartition: row.dlq_partition, dlqOffset: row.dlq_offset, err: error },
          'the store refused a dead letter even with its text made well-formed; left out',
        )
      }
    },
  })
  return { consumer, start: () => consumer.start(), stop: () => consumer.stop() }
}
