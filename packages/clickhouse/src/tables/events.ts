import type { ClickHouse } from '../client.ts'
import { toClickHouseError } from '../errors.ts'
import { insertAsTabSeparated, type TsvColumns, tsvString, tsvValue } from '../tab-separated.ts'

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
  /** 1 when the event came later than the allowed lateness (kept, left out of CPIs until a recompute brings it in). */
  too_late?: 0 | 1
}

/** The columns an insert of events writes, each with its field's text. */
const EVENT_COLUMNS: TsvColumns<RawEventRow> = [
  ['id', (row) => tsvString(row.id)],
  ['type', (row) => tsvString(row.type)],
  ['source', (row) => tsvString(row.source)],
  ['subject', (row) => tsvString(row.subject)],
  ['time', (row) => tsvString(row.time)],
  ['payload', (row) => tsvString(row.payload)],
  ['kafka_topic', (row) => tsvString(row.kafka_topic)],
  ['kafka_partition', (row) => tsvValue(row.kafka_partition)],
  ['kafka_offset', (row) => tsvValue(row.kafka_offset)],
  ['too_late', (row) => tsvValue(row.too_late ?? 0)],
  ['source_identity', (row) => tsvString(row.source)],
]

/**
 * Inserts raw events through the write path. Idempotent: a replayed row merges away. Each row's
 * source goes to the sorting key's `source_identity` too (migration 0006).
 */
export async function insertEvents(clickhouse: ClickHouse, rows: readonly RawEventRow[]): Promise<void> {
  if (rows.length === 0) return
  try {
    await insertAsTabSeparated(clickhouse, `${clickhouse.database}.events`, EVENT_COLUMNS, rows)
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

export interface BeyondHorizon {
  /** Events stored with `too_late = 1`, each identity (source, id) once. */
  events: number
  /** When the newest of them was stored (`ingested_at`, epoch ms); null without any. */
  latestAt: number | null
}

/** The events of one Kafka topic stored beyond the revision horizon, through the query path. */
export async function countEventsBeyondHorizon(
  clickhouse: ClickHouse,
  filter: { kafkaTopic: string },
): Promise<BeyondHorizon> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT uniqExact(source, id) AS events, toUnixTimestamp64Milli(maxOrNull(ingested_at)) AS latest
              FROM ${clickhouse.database}.events
              WHERE kafka_topic = {topic:String} AND too_late = 1`,
      query_params: { topic: filter.kafkaTopic },
      format: 'JSONEachRow',
    })
    const [row] = await result.json<{ events: string | number; latest: string | number | null }>()
    const latest = row?.latest ?? null
    return { events: Number(row?.events ?? 0), latestAt: latest === null ? null : Number(latest) }
  } catch (error) {
    throw toClickHouseError(error, 'counting events beyond the revision horizon')
  }
}

/**
 * Clears `too_late` on the events of these interactions (one topic), so that every later
 * recomputation counts them; returns how many events that brought in. A mutation, waited for
 * before returning: the caller recomputes right after and must read the cleared flags.
 */
export async function includeEventsBeyondHorizon(
  clickhouse: ClickHouse,
  filter: { kafkaTopic: string; subjects: readonly string[] },
): Promise<number> {
  let included = 0
  // 5,000 ids per statement keep the query parameter under a server's HTTP field limit (128 KiB).
  for (let start = 0; start < filter.subjects.length; start += 5000) {
    const chunk = filter.subjects.slice(start, start + 5000)
    try {
      const result = await clickhouse.writer.query({
        query: `SELECT subject, uniqExact(source, id) AS late FROM ${clickhouse.database}.events
                WHERE kafka_topic = {topic:String} AND too_late = 1 AND subject IN {subjects:Array(String)}
                GROUP BY subject`,
        query_params: { topic: filter.kafkaTopic, subjects: chunk },
        format: 'JSONEachRow',
      })
      const late = await result.json<{ subject: string; late: string | number }>()
      // Most interactions have none: a mutation (it rewrites parts) only where one is flagged.
      if (late.length === 0) continue
      await clickhouse.writer.command({
        query: `ALTER TABLE ${clickhouse.database}.events UPDATE too_late = 0
                WHERE kafka_topic = {topic:String} AND too_late = 1 AND subject IN {subjects:Array(String)}`,
        query_params: { topic: filter.kafkaTopic, subjects: late.map((row) => row.subject) },
        // On a cluster, every replica: the recompute that follows may read from any of them.
        clickhouse_settings: { mutations_sync: clickhouse.cluster ? '2' : '1' },
      })
      included += late.reduce((sum, row) => sum + Number(row.late), 0)
    } catch (error) {
      throw toClickHouseError(
        error,
        `including the events beyond the horizon of ${chunk.length} interactions`,
      )
    }
  }
  return included
}
