import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineInsert, defineQuery } from '../query.ts'

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

const rejectedInsert = defineInsert({
  name: 'inserting rows into rejected_events',
  table: 'rejected_events',
  values: (row: RejectedEventRow) => ({ ...row }),
  what: (rows) => `inserting ${rows.length} rows into rejected_events`,
})

/** Records rejected events (dead letters) through the write path; a replayed one merges away. */
export const insertRejectedEvents = (
  clickhouse: ClickHouse,
  rows: readonly RejectedEventRow[],
): Promise<void> => rejectedInsert(clickhouse, rows)

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

const rejectedQuery = defineQuery({
  name: 'listing rejected events',
  params: z.object({ eventId: z.string(), limit: z.number().int().nonnegative() }),
  sql: (
    database,
  ) => `SELECT origin, reason, errors, event_id, event_type, subject, raw, source_topic, source_partition,
                     source_offset, rejected_at
              FROM ${database}.rejected_events FINAL
              WHERE {eventId:String} = '' OR event_id = {eventId:String}
              ORDER BY rejected_at DESC, dedup_key LIMIT {limit:UInt32}`,
  row: z
    .object({
      origin: z.string(),
      reason: z.string(),
      errors: z.string(),
      event_id: z.string(),
      event_type: z.string(),
      subject: z.string(),
      raw: z.string(),
      source_topic: z.string(),
      source_partition: z.coerce.number(),
      source_offset: z.coerce.number(),
      rejected_at: z.string(),
    })
    .transform(
      (row): RejectedEventView => ({
        origin: row.origin,
        reason: row.reason,
        errors: JSON.parse(row.errors),
        eventId: row.event_id,
        eventType: row.event_type,
        subject: row.subject,
        raw: row.raw,
        sourceTopic: row.source_topic,
        sourcePartition: row.source_partition,
        sourceOffset: row.source_offset,
        rejectedAt: row.rejected_at,
      }),
    ),
})

/** The rejections, deduplicated, newest first; optionally of one event id. */
export const listRejectedEvents = (
  clickhouse: ClickHouse,
  filter: { eventId?: string; limit?: number } = {},
): Promise<RejectedEventView[]> =>
  rejectedQuery(clickhouse, { eventId: filter.eventId ?? '', limit: filter.limit ?? 1000 })

const rejectedCountQuery = defineQuery({
  name: 'counting rejected events',
  params: z.object({}),
  sql: (database) => `SELECT origin, reason, count() AS count FROM ${database}.rejected_events FINAL
              GROUP BY origin, reason ORDER BY origin, reason`,
  row: z.object({ origin: z.string(), reason: z.string(), count: z.coerce.number() }),
})

/** Rejections after deduplication, per origin and reason. */
export const countRejectedEvents = (
  clickhouse: ClickHouse,
): Promise<{ origin: string; reason: string; count: number }[]> => rejectedCountQuery(clickhouse, {})
