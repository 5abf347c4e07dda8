import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineInsert, defineQuery, defineTabSeparatedInsert } from '../query.ts'
import { setParts, stringSet, stringSetParameter } from '../string-set.ts'
import { type TsvColumns, tsvString, tsvStringMap, tsvValue } from '../tab-separated.ts'
import { type CpiPoint, toPoint } from './cpi-series.ts'
import type { CountedRow } from './partition-rollups.ts'

// Tables `outcomes` and `watermarks`, views `cpi_values*`: schemas/clickhouse/migrations/0003_create_outcomes.sql.

export interface OutcomeRow {
  cpi: string
  definition_version: number
  subject: string
  cohort_at: string
  state: 'good' | 'bad' | 'pending' | 'excluded'
  status: '' | 'provisional' | 'final'
  latency_ms: number | null
  /** On a business-hours calendar: the wait in wall time (`latency_ms` is its working time); null otherwise. */
  wall_latency_ms?: number | null
  /** With pauses (`pauses` of the CPI): how many the wait had and their length, left out of `latency_ms`. */
  pauses?: number
  paused_ms?: number | null
  /** 1 for an interaction still open past its deadline: its latency is the current watermark minus its start. */
  open: 0 | 1
  segments: Record<string, string>
  revisit_at: string | null
  watermark: string
  kafka_partition: number
  version: number
  /** 1 for a tombstone: the (cpi, subject) left this cohort minute (migration 0008). */
  is_deleted?: 0 | 1
}

/** The columns an insert of outcomes writes, each with its field's text. */
const OUTCOME_COLUMNS: TsvColumns<OutcomeRow> = [
  ['cpi', (row) => tsvString(row.cpi)],
  ['definition_version', (row) => tsvValue(row.definition_version)],
  ['subject', (row) => tsvString(row.subject)],
  ['cohort_at', (row) => tsvString(row.cohort_at)],
  ['state', (row) => tsvString(row.state)],
  ['status', (row) => tsvString(row.status)],
  ['latency_ms', (row) => tsvValue(row.latency_ms)],
  ['wall_latency_ms', (row) => tsvValue(row.wall_latency_ms ?? null)],
  ['pauses', (row) => tsvValue(row.pauses ?? 0)],
  ['paused_ms', (row) => tsvValue(row.paused_ms ?? null)],
  ['open', (row) => tsvValue(row.open)],
  ['segments', (row) => tsvStringMap(row.segments)],
  ['revisit_at', (row) => tsvValue(row.revisit_at)],
  ['watermark', (row) => tsvString(row.watermark)],
  ['kafka_partition', (row) => tsvValue(row.kafka_partition)],
  ['version', (row) => tsvValue(row.version)],
  ['is_deleted', (row) => tsvValue(row.is_deleted ?? 0)],
]

const outcomesInsert = defineTabSeparatedInsert({
  name: 'inserting outcomes',
  table: 'outcomes',
  columns: OUTCOME_COLUMNS,
  what: (rows) => `inserting ${rows.length} outcomes`,
})

/** Writes outcome rows (and tombstones) through the write path; the latest version of a row wins. */
export const insertOutcomes = (clickhouse: ClickHouse, rows: readonly OutcomeRow[]): Promise<void> =>
  outcomesInsert(clickhouse, rows)

/** Where a (cpi, subject) has a row: its cohort time (ISO), version, and whether it is a tombstone. */
export interface OutcomePlacement {
  cohortAt: string
  version: number
  deleted: boolean
  /** What the rollup counts of that row (partition-rollups.ts). */
  counted?: CountedRow
}

/** A set of subjects as a `stringSet` parameter, with how many interactions a failure names. */
const subjectSet = z.object({ subjects: z.string(), interactions: z.number().int() })

const placementsQuery = defineQuery({
  name: 'reading where outcomes stand',
  connection: 'writer',
  params: subjectSet,
  sql: (
    database,
  ) => `SELECT cpi, subject, toUnixTimestamp64Milli(argMax(cohort_at, (version, computed_at))) AS at,
                       toString(max(version)) AS placed_version, argMax(is_deleted, (version, computed_at)) AS gone,
                       argMax((state, status, latency_ms, open, segments, kafka_partition, definition_version),
                              (version, computed_at)) AS live
                FROM ${database}.outcomes
                WHERE subject IN ${stringSet('subjects')}
                GROUP BY cpi, subject, toStartOfMinute(cohort_at)`,
  bind: ({ subjects }) => ({ subjects }),
  row: (row) => {
    const [state, status, latency, open, segments, partition, definitionVersion] = row.live as [
      string,
      string,
      number | string | null,
      number,
      Record<string, string>,
      number,
      number,
    ]
    return {
      key: `${row.cpi}\u0000${row.subject}`,
      placement: {
        cohortAt: new Date(Number(row.at)).toISOString(),
        version: Number(row.placed_version),
        deleted: Number(row.gone) === 1,
        counted: {
          state,
          status,
          latency_ms: latency === null ? null : Number(latency),
          open: Number(open) === 1 ? 1 : 0,
          segments,
          kafka_partition: Number(partition),
          cohortAt: Number(row.at),
          definition_version: Number(definitionVersion),
        },
      } satisfies OutcomePlacement,
    }
  },
  what: ({ interactions }) => `reading where the outcomes of ${interactions} interactions stand`,
})

/**
 * Every minute where each (cpi, subject) of these subjects has a row, live or a tombstone (the
 * latest row of each (cpi, minute, subject)), keyed `cpi\u0000subject`. Usually one live place;
 * more after a write that a crash cut between parts, or rows of one subject written from two
 * partitions. Tombstones say which minutes a replayed write must re-aggregate.
 */
export async function outcomePlacements(
  clickhouse: ClickHouse,
  subjects: readonly string[],
): Promise<Map<string, OutcomePlacement[]>> {
  const places = new Map<string, OutcomePlacement[]>()
  const distinct = [...new Set(subjects)]
  for (const part of setParts(clickhouse, distinct)) {
    const rows = await placementsQuery(clickhouse, {
      subjects: stringSetParameter(part),
      interactions: distinct.length,
    })
    for (const { key, placement } of rows) {
      const list = places.get(key) ?? []
      list.push(placement)
      places.set(key, list)
    }
  }
  return places
}

/** One stored copy of an event: the table may hold several of one (source, id), each with its own Kafka position. */
export interface StoredEvent {
  id: string
  source: string
  type: string
  subject: string
  /** ms since the epoch */
  time: number
  payload: string
  /** Stored as too late when it came: kept, left out of CPIs. */
  tooLate: boolean
  partition: number
  offset: bigint
  /** Its parsed form, once a reader of the copy parsed it (kept with the copy, never stored). */
  decoded?: unknown
}

const eventCopiesQuery = defineQuery({
  name: 'loading the events of interactions',
  connection: 'writer',
  params: subjectSet,
  // Aliases differ from column names: an alias named like a column would replace it in WHERE.
  sql: (database) => `SELECT id, source AS event_source, subject, type AS event_type,
                     toUnixTimestamp64Milli(time) AS event_time, payload AS event_payload,
                     too_late AS late, kafka_partition AS position_partition,
                     toString(kafka_offset) AS position_offset
              FROM ${database}.events
              WHERE subject IN ${stringSet('subjects')}`,
  bind: ({ subjects }) => ({ subjects }),
  row: (row): StoredEvent => ({
    id: row.id as string,
    source: row.event_source as string,
    subject: row.subject as string,
    type: row.event_type as string,
    time: Number(row.event_time),
    payload: row.event_payload as string,
    tooLate: Number(row.late) === 1,
    partition: Number(row.position_partition),
    offset: BigInt(row.position_offset as string),
  }),
  what: ({ interactions }) => `loading the events of ${interactions} interactions`,
})

/**
 * Every stored copy of the events of these interactions (subjects), with their Kafka
 * positions, so that the caller decides which copy of an identity counts (the first accepted).
 * Read on the write path: it follows the processor's own inserts.
 */
export async function loadEventCopies(
  clickhouse: ClickHouse,
  subjects: readonly string[],
): Promise<StoredEvent[]> {
  const copies: StoredEvent[] = []
  for (const part of setParts(clickhouse, subjects))
    copies.push(
      ...(await eventCopiesQuery(clickhouse, {
        subjects: stringSetParameter(part),
        interactions: part.length,
      })),
    )
  return copies
}

const revisitsQuery = defineQuery({
  name: 'loading the revisits of a partition',
  connection: 'writer',
  params: z.object({ partition: z.number().int().nonnegative() }),
  // FINAL keeps each (cpi, cohort minute, subject)'s latest row the way the table does — the highest
  // watermark, and at equal watermarks the row written last — then only waiting ones count.
  sql: (database) => `SELECT subject, toUnixTimestamp64Milli(min(revisit_at)) AS at
              FROM ${database}.outcomes FINAL
              WHERE kafka_partition = {partition:UInt32} AND revisit_at IS NOT NULL
              GROUP BY subject`,
  row: (row) => [row.subject as string, Number(row.at)] as const,
  what: ({ partition }) => `loading the revisits of partition ${partition}`,
})

/**
 * Every interaction of a partition whose latest outcome waits for a revisit, with the earliest
 * revisit time over its CPIs: the processor's schedule after it takes a partition over.
 */
export async function pendingRevisits(
  clickhouse: ClickHouse,
  partition: number,
): Promise<Map<string, number>> {
  return new Map(await revisitsQuery(clickhouse, { partition }))
}

/** A partition's events before an offset (the placeholders of `maxEventTimeQuery`). */
const BEFORE_OFFSET =
  'kafka_topic = {topic:String} AND kafka_partition = {partition:UInt32} AND kafka_offset < {offset:UInt64}'

const maxEventTimeQuery = defineQuery({
  name: 'reading the latest event time of a partition',
  connection: 'writer',
  params: z.object({
    topic: z.string(),
    partition: z.number().int().nonnegative(),
    offset: z.string(),
    maxSources: z.number().int().nonnegative(),
  }),
  // The partition's latest time, and each source's: the first `maxSources` sources in order of
  // first appearance, as the live clock keeps them (a producer may invent a source per event).
  sql: (database) => `SELECT toUnixTimestamp64Milli(max(time)) AS max, count() AS rows,
                     (SELECT groupArray((event_source, latest)) FROM (
                        SELECT source AS event_source, toUnixTimestamp64Milli(max(time)) AS latest,
                               min(kafka_offset) AS first
                        FROM ${database}.events WHERE ${BEFORE_OFFSET}
                        GROUP BY source ORDER BY first LIMIT {maxSources:UInt32})) AS sources
              FROM ${database}.events WHERE ${BEFORE_OFFSET}`,
  row: (row) => ({
    max: Number(row.rows) > 0 ? Number(row.max) : undefined,
    bySource: new Map(
      ((row.sources as [string, string | number][] | undefined) ?? []).map(
        ([source, latest]) => [source, Number(latest)] as const,
      ),
    ),
  }),
})

/** The latest event time stored for a partition before an offset (deterministic on replay). */
export async function maxEventTimeBefore(
  clickhouse: ClickHouse,
  position: { topic: string; partition: number; offset: string },
  maxSources = 10_000,
): Promise<{ max: number | undefined; bySource: Map<string, number> }> {
  const [row] = await maxEventTimeQuery(clickhouse, {
    topic: position.topic,
    partition: position.partition,
    offset: position.offset,
    maxSources,
  })
  return row ?? { max: undefined, bySource: new Map() }
}

const watermarksInsert = defineInsert({
  name: 'recording watermarks',
  table: 'watermarks',
  values: (row: { topic: string; partition: number; watermark: number; maxEventTime: number }) => ({
    topic: row.topic,
    partition: row.partition,
    watermark: new Date(row.watermark).toISOString(),
    max_event_time: new Date(row.maxEventTime).toISOString(),
  }),
})

/** Records partitions' watermarks and latest event times (the processor's clock) through the write path. */
export const recordWatermarks = (
  clickhouse: ClickHouse,
  rows: readonly { topic: string; partition: number; watermark: number; maxEventTime: number }[],
): Promise<void> => watermarksInsert(clickhouse, rows)

const recordedWatermarksQuery = defineQuery({
  name: 'reading the recorded watermarks',
  connection: 'writer',
  params: z.object({ topic: z.string() }),
  sql: (
    database,
  ) => `SELECT partition, toUnixTimestamp64Milli(max(watermark)) AS watermark FROM ${database}.watermarks
              WHERE topic = {topic:String} GROUP BY partition`,
  row: (row) => ({ partition: Number(row.partition), watermark: Number(row.watermark) }),
})

/** Each partition's highest recorded watermark of the topic (ms), on the write path (read-your-writes). */
export async function recordedWatermarks(
  clickhouse: ClickHouse,
  topic: string,
): Promise<Map<number, number>> {
  const rows = await recordedWatermarksQuery(clickhouse, { topic })
  return new Map(rows.map((row) => [row.partition, row.watermark]))
}

export interface CpiValueRow extends CpiPoint {
  cpi: string
  dimension: string
  value: string
  definitionVersion: number
}

const VIEWS = { minute: 'cpi_values', hour: 'cpi_values_hourly', day: 'cpi_values_daily' } as const

const cpiValuesQuery = defineQuery({
  name: 'querying CPI values',
  params: z.object({ grain: z.enum(['minute', 'hour', 'day']), cpi: z.string(), dimension: z.string() }),
  sql: (
    database,
    { grain },
  ) => `SELECT cpi, window_start, dimension, value, good, total, pending, ratio, latency_count,
                     latency_quantiles_ms AS q, status, definition_version
              FROM ${database}.${VIEWS[grain]}
              WHERE ({cpi:String} = '' OR cpi = {cpi:String}) AND ({dimension:String} = '' OR dimension = {dimension:String})
              ORDER BY cpi, window_start, dimension, value`,
  bind: ({ cpi, dimension }) => ({ cpi, dimension }),
  row: (row): CpiValueRow => ({
    cpi: String(row.cpi),
    dimension: String(row.dimension),
    value: String(row.value),
    ...toPoint(row),
    definitionVersion: Number(row.definition_version),
  }),
})

/** CPI values at a grain (`cpi_values`, `cpi_values_hourly`, `cpi_values_daily`), through the query path. */
export const queryCpiValues = (
  clickhouse: ClickHouse,
  filter: { grain?: 'minute' | 'hour' | 'day'; cpi?: string; dimension?: string } = {},
): Promise<CpiValueRow[]> =>
  cpiValuesQuery(clickhouse, {
    grain: filter.grain ?? 'minute',
    cpi: filter.cpi ?? '',
    dimension: filter.dimension ?? '',
  })

const partitionTimeQuery = defineQuery({
  name: 'reading where a partition clock stands',
  connection: 'writer',
  params: z.object({ topic: z.string(), partition: z.number().int().nonnegative() }),
  sql: (database) => `SELECT
                (SELECT toUnixTimestamp64Milli(max(time)) FROM ${database}.events
                 WHERE kafka_topic = {topic:String} AND kafka_partition = {partition:UInt32}) AS max_event_time,
                (SELECT count() FROM ${database}.events
                 WHERE kafka_topic = {topic:String} AND kafka_partition = {partition:UInt32}) AS events,
                (SELECT toUnixTimestamp64Milli(max(watermark)) FROM ${database}.watermarks
                 WHERE topic = {topic:String} AND partition = {partition:UInt32}) AS recorded,
                (SELECT count() FROM ${database}.watermarks
                 WHERE topic = {topic:String} AND partition = {partition:UInt32}) AS records`,
  row: (row) => {
    const time: { maxEventTime?: number; watermark?: number } = {}
    if (Number(row.events) > 0) time.maxEventTime = Number(row.max_event_time)
    if (Number(row.records) > 0) time.watermark = Number(row.recorded)
    return time
  },
})

/** Where a partition's clock stands: its latest stored event time and the last watermark recorded. */
export async function partitionTime(
  clickhouse: ClickHouse,
  position: { topic: string; partition: number },
): Promise<{ maxEventTime?: number; watermark?: number }> {
  const [time] = await partitionTimeQuery(clickhouse, {
    topic: position.topic,
    partition: position.partition,
  })
  return time ?? {}
}
