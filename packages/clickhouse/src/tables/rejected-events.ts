import type { ClickHouse } from '../client.ts'
import { toClickHouseError } from '../errors.ts'

// Table `rejected_events`, created by schemas/clickhouse/migrations/0002_create_rejected_events.sql.

export interface RejectedEventRow {
  dedup_key: string
  origin: 'ingest' | 'processor'
  reason: string
  /** JSON array of { path, message }. */
  errors: string
  event_id: string
  event_type: string
  subject: string
  sender: string
  raw: string
  source_topic: string
  source_partition: number
  source_offset: number | string
  dlq_partition: number
  dlq_offset: number | string
  rejected_at: string
}

export async function insertRejectedEvents(
  clickhouse: ClickHouse,
  rows: readonly RejectedEventRow[],
): Promise<void> {
  if (rows.length === 0) return
  try {
    await clickhouse.writer.insert({
      table: `${clickhouse.database}.rejected_events`,
      values: rows as RejectedEventRow[],
      format: 'JSONEachRow',
    })
  } catch (error) {
    throw toClickHouseError(error, `inserting ${rows.length} rows into rejected_events`)
  }
}

export interface RejectedEventView {
  origin: string
  reason: string
  errors: { path: string; message: string }[]
  eventId: string
  eventType: string
  subject: string
  raw: string
  sourceTopic: string
  sourcePartition: number
  sourceOffset: number
  rejectedAt: string
}

/** The rejections, deduplicated, newest first; optionally of one event id. */
export async function listRejectedEvents(
  clickhouse: ClickHouse,
  filter: { eventId?: string; limit?: number } = {},
): Promise<RejectedEventView[]> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT origin, reason, errors, event_id, event_type, subject, raw, source_topic, source_partition,
                     source_offset, rejected_at
              FROM ${clickhouse.database}.rejected_events FINAL
              WHERE {eventId:String} = '' OR event_id = {eventId:String}
              ORDER BY rejected_at DESC, dedup_key LIMIT {limit:UInt32}`,
      query_params: { eventId: filter.eventId ?? '', limit: filter.limit ?? 1000 },
      format: 'JSONEachRow',
    })
    const rows = await result.json<Record<string, string | number>>()
    return rows.map((row) => ({
      origin: String(row.origin),
      reason: String(row.reason),
      errors: JSON.parse(String(row.errors)),
      eventId: String(row.event_id),
      eventType: String(row.event_type),
      subject: String(row.subject),
      raw: String(row.raw),
      sourceTopic: String(row.source_topic),
      sourcePartition: Number(row.source_partition),
      sourceOffset: Number(row.source_offset),
      rejectedAt: String(row.rejected_at),
    }))
  } catch (error) {
    throw toClickHouseError(error, 'listing rejected events')
  }
}

/** Rejections after deduplication, per origin and reason. */
export async function countRejectedEvents(
  clickhouse: ClickHouse,
): Promise<{ origin: string; reason: string; count: number }[]> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT origin, reason, count() AS count FROM ${clickhouse.database}.rejected_events FINAL
              GROUP BY origin, reason ORDER BY origin, reason`,
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ origin: string; reason: string; count: string }>()
    return rows.map((row) => ({ origin: row.origin, reason: row.reason, count: Number(row.count) }))
  } catch (error) {
    throw toClickHouseError(error, 'counting rejected events')
  }
}
