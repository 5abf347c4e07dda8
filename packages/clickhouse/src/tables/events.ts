import type { ClickHouse } from '../client.ts'
import { toClickHouseError } from '../errors.ts'

// Table `events`, created by schemas/clickhouse/migrations/0001_create_events.sql.

export interface RawEventRow {
  id: string
  type: string
  source: string
  subject: string
  /** Event time, RFC 3339. */
  time: string
  /** The event exactly as it arrived (JSON text). */
  payload: string
  kafka_topic: string
  kafka_partition: number
  kafka_offset: number | string
  /** 1 when the event came later than the allowed lateness (kept, left out of CPIs). */
  too_late?: 0 | 1
}

/**
 * Inserts raw events through the write path. Idempotent: a replayed row merges away. Each row's
 * source goes to the sorting key's `source_identity` too (migration 0006).
 */
export async function insertEvents(clickhouse: ClickHouse, rows: readonly RawEventRow[]): Promise<void> {
  if (rows.length === 0) return
  try {
    await clickhouse.writer.insert({
      table: `${clickhouse.database}.events`,
      values: rows.map((row) => ({ ...row, source_identity: row.source })),
      format: 'JSONEachRow',
    })
  } catch (error) {
    throw toClickHouseError(error, `inserting ${rows.length} rows into events`)
  }
}

export interface EventCounts {
  /** Events: rows after deduplication by identity (source, id). */
  distinct: number
  /** Rows as stored, duplicates not yet merged included. */
  stored: number
}

/** Counts events, optionally of one Kafka topic, through the query path. */
export async function countEvents(
  clickhouse: ClickHouse,
  filter: { kafkaTopic?: string } = {},
): Promise<EventCounts> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT uniqExact(source, id) AS distinct, count() AS stored FROM ${clickhouse.database}.events
              WHERE {topic:String} = '' OR kafka_topic = {topic:String}`,
      query_params: { topic: filter.kafkaTopic ?? '' },
      format: 'JSONEachRow',
    })
    const [row] = await result.json<{ distinct: string; stored: string }>()
    return { distinct: Number(row?.distinct ?? 0), stored: Number(row?.stored ?? 0) }
  } catch (error) {
    throw toClickHouseError(error, 'counting events')
  }
}
