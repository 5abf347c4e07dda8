import { type ClickHouse, insertEvents, type RawEventRow } from '@cpi/clickhouse'
import type { Batch } from '@cpi/kafka'

/** A test message: what the foundation test produces (a minimal CloudEvents-shaped record). */
export interface TestEvent {
  id: string
  type: string
  source: string
  subject: string
  time: string
}

export function testEvent(index: number, runId: string): TestEvent {
  return {
    id: `${runId}-${index}`,
    type: 'test.event',
    source: '/test/ledger',
    subject: `S-${index % 997}`,
    time: new Date(Date.UTC(2026, 10, 22, 10, 0, 0) + index).toISOString(),
  }
}

/** Turns one Kafka batch into raw event rows, keeping (topic, partition, offset) as the ledger. */
export function rowsFromBatch(batch: Batch): RawEventRow[] {
  return batch.messages.map((message) => {
    const payload = message.value?.toString('utf8') ?? ''
    const event = JSON.parse(payload) as TestEvent
    return {
      id: event.id,
      type: event.type,
      source: event.source,
      subject: event.subject,
      time: event.time,
      payload,
      kafka_topic: batch.topic,
      kafka_partition: batch.partition,
      kafka_offset: message.offset,
    }
  })
}

/** The handler both the in-process and the child-process consumers run. */
export function rawEventSink(clickhouse: ClickHouse) {
  return async (batch: Batch) => insertEvents(clickhouse, rowsFromBatch(batch))
}

export interface LedgerRow {
  partition: number
  distinctOffsets: number
  minOffset: number
  maxOffset: number
}

/** Per partition: how many distinct offsets the table holds, and their range. */
export async function offsetLedger(clickhouse: ClickHouse, topic: string): Promise<LedgerRow[]> {
  const result = await clickhouse.reader.query({
    query: `SELECT kafka_partition AS partition, uniqExact(kafka_offset) AS distinctOffsets,
                   min(kafka_offset) AS minOffset, max(kafka_offset) AS maxOffset
            FROM ${clickhouse.database}.events WHERE kafka_topic = {topic:String}
            GROUP BY partition ORDER BY partition`,
    query_params: { topic },
    format: 'JSONEachRow',
  })
  const rows = await result.json<Record<keyof LedgerRow, string | number>>()
  return rows.map((row) => ({
    partition: Number(row.partition),
    distinctOffsets: Number(row.distinctOffsets),
    minOffset: Number(row.minOffset),
    maxOffset: Number(row.maxOffset),
  }))
}

/** Rows after deduplication by the table's key, as readers see them with FINAL. */
export async function countFinal(clickhouse: ClickHouse, topic: string): Promise<number> {
  const result = await clickhouse.reader.query({
    query: `SELECT count() AS rows FROM ${clickhouse.database}.events FINAL WHERE kafka_topic = {topic:String}`,
    query_params: { topic },
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{ rows: string }>()
  return Number(row?.rows ?? 0)
}
