import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineCommand, defineQuery, defineTabSeparatedInsert } from '../query.ts'
import { type TsvColumns, tsvString, tsvValue } from '../tab-separated.ts'

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

const eventsInsert = defineTabSeparatedInsert({
  name: 'inserting rows into events',
  table: 'events',
  columns: EVENT_COLUMNS,
  what: (rows) => `inserting ${rows.length} rows into events`,
})

/**
 * Inserts raw events through the write path. Idempotent: a replayed row merges away. Each row's
 * source goes to the sorting key's `source_identity` too (migration 0006).
 */
export const insertEvents = (clickhouse: ClickHouse, rows: readonly RawEventRow[]): Promise<void> =>
  eventsInsert(clickhouse, rows)

export interface EventCounts {
  /** Events: rows after deduplication by identity (source, id). */
  distinct: number
  /** Rows as stored, duplicates not yet merged included. */
  stored: number
}

const countQuery = defineQuery({
  name: 'counting events',
  params: z.object({ topic: z.string() }),
  sql: (database) => `SELECT uniqExact(source, id) AS distinct, count() AS stored FROM ${database}.events
              WHERE {topic:String} = '' OR kafka_topic = {topic:String}`,
  row: z.object({ distinct: z.coerce.number(), stored: z.coerce.number() }),
})

/** Counts events, optionally of one Kafka topic, through the query path. */
export async function countEvents(
  clickhouse: ClickHouse,
  filter: { kafkaTopic?: string } = {},
): Promise<EventCounts> {
  const [row] = await countQuery(clickhouse, { topic: filter.kafkaTopic ?? '' })
  return { distinct: row?.distinct ?? 0, stored: row?.stored ?? 0 }
}

export interface BeyondHorizon {
  /** Events stored with `too_late = 1`, each identity (source, id) once. */
  events: number
  /** When the newest of them was stored (`ingested_at`, epoch ms); null without any. */
  latestAt: number | null
}

const beyondHorizonQuery = defineQuery({
  name: 'counting events beyond the revision horizon',
  params: z.object({ topic: z.string() }),
  sql: (
    database,
  ) => `SELECT uniqExact(source, id) AS events, toUnixTimestamp64Milli(maxOrNull(ingested_at)) AS latest
              FROM ${database}.events
              WHERE kafka_topic = {topic:String} AND too_late = 1`,
  row: z.object({ events: z.coerce.number(), latest: z.coerce.number().nullable() }),
})

/** The events of one Kafka topic stored beyond the revision horizon, through the query path. */
export async function countEventsBeyondHorizon(
  clickhouse: ClickHouse,
  filter: { kafkaTopic: string },
): Promise<BeyondHorizon> {
  const [row] = await beyondHorizonQuery(clickhouse, { topic: filter.kafkaTopic })
  return { events: row?.events ?? 0, latestAt: row?.latest ?? null }
}

const including = (interactions: number) =>
  `including the events beyond the horizon of ${interactions} interactions`

const lateEventsQuery = defineQuery({
  name: 'finding events beyond the horizon',
  connection: 'writer',
  params: z.object({ topic: z.string(), subjects: z.array(z.string()) }),
  sql: (database) => `SELECT subject, uniqExact(source, id) AS late FROM ${database}.events
                WHERE kafka_topic = {topic:String} AND too_late = 1 AND subject IN {subjects:Array(String)}
                GROUP BY subject`,
  row: z.object({ subject: z.string(), late: z.coerce.number() }),
  what: (params) => including(params.subjects.length),
})

const includeCommand = defineCommand({
  name: 'including events beyond the horizon',
  params: z.object({
    topic: z.string(),
    subjects: z.array(z.string()),
    interactions: z.number().int(),
    onCluster: z.boolean(),
  }),
  sql: (database) => `ALTER TABLE ${database}.events UPDATE too_late = 0
                WHERE kafka_topic = {topic:String} AND too_late = 1 AND subject IN {subjects:Array(String)}`,
  bind: ({ topic, subjects }) => ({ topic, subjects }),
  // On a cluster, every replica: the recompute that follows may read from any of them.
  settings: ({ onCluster }) => ({ mutations_sync: onCluster ? '2' : '1' }),
  what: (params) => including(params.interactions),
})

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
    const late = await lateEventsQuery(clickhouse, { topic: filter.kafkaTopic, subjects: chunk })
    // Most interactions have none: a mutation (it rewrites parts) only where one is flagged.
    if (late.length === 0) continue
    await includeCommand(clickhouse, {
      topic: filter.kafkaTopic,
      subjects: late.map((row) => row.subject),
      interactions: chunk.length,
      onCluster: Boolean(clickhouse.cluster),
    })
    included += late.reduce((sum, row) => sum + row.late, 0)
  }
  return included
}

const startedQuery = defineQuery({
  name: 'finding the interactions started in a range',
  connection: 'writer',
  params: z.object({ topic: z.string(), type: z.string(), from: z.number().int(), to: z.number().int() }),
  sql: (database) => `SELECT subject, any(kafka_partition) AS partition FROM ${database}.events
              WHERE kafka_topic = {topic:String} AND type = {type:String}
                AND time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
              GROUP BY subject`,
  row: (row) => ({ subject: String(row.subject), partition: Number(row.partition) }),
})

/** The interactions whose `type` event (a CPI's start) is in [from, to) on the topic, with their partition. */
export const interactionsStartedBetween = (
  clickhouse: ClickHouse,
  range: { topic: string; type: string; from: number; to: number },
): Promise<{ subject: string; partition: number }[]> => startedQuery(clickhouse, range)
