import type { ClickHouse } from '../client.ts'
import { toClickHouseError } from '../errors.ts'
import { setParts, stringSet, stringSetParameter } from '../string-set.ts'
import { insertAsTabSeparated, type TsvColumns, tsvString, tsvStringMap, tsvValue } from '../tab-separated.ts'
import { type CpiPoint, toPoint } from './cpi-series.ts'

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

export async function insertOutcomes(clickhouse: ClickHouse, rows: readonly OutcomeRow[]): Promise<void> {
  if (rows.length === 0) return
  try {
    await insertAsTabSeparated(clickhouse, `${clickhouse.database}.outcomes`, OUTCOME_COLUMNS, rows)
  } catch (error) {
    throw toClickHouseError(error, `inserting ${rows.length} outcomes`)
  }
}

/** Where a (cpi, subject) has a row: its cohort time (ISO), version, and whether it is a tombstone. */
export interface OutcomePlacement {
  cohortAt: string
  version: number
  deleted: boolean
}

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
    try {
      const result = await clickhouse.writer.query({
        query: `SELECT cpi, subject, toUnixTimestamp64Milli(argMax(cohort_at, (version, computed_at))) AS at,
                       toString(max(version)) AS placed_version, argMax(is_deleted, (version, computed_at)) AS gone
                FROM ${clickhouse.database}.outcomes
                WHERE subject IN ${stringSet('subjects')}
                GROUP BY cpi, subject, toStartOfMinute(cohort_at)`,
        query_params: { subjects: stringSetParameter(part) },
        format: 'JSONEachRow',
      })
      for (const row of await result.json<{
        cpi: string
        subject: string
        at: string | number
        placed_version: string
        gone: number
      }>()) {
        const key = `${row.cpi}\u0000${row.subject}`
        const list = places.get(key) ?? []
        list.push({
          cohortAt: new Date(Number(row.at)).toISOString(),
          version: Number(row.placed_version),
          deleted: Number(row.gone) === 1,
        })
        places.set(key, list)
      }
    } catch (error) {
      throw toClickHouseError(error, `reading where the outcomes of ${distinct.length} interactions stand`)
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
    copies.push(...(await loadEventCopiesOnce(clickhouse, part)))
  return copies
}

async function loadEventCopiesOnce(
  clickhouse: ClickHouse,
  subjects: readonly string[],
): Promise<StoredEvent[]> {
  try {
    const result = await clickhouse.writer.query({
      // Aliases differ from column names: an alias named like a column would replace it in WHERE.
      query: `SELECT id, source AS event_source, subject, type AS event_type,
                     toUnixTimestamp64Milli(time) AS event_time, payload AS event_payload,
                     too_late AS late, kafka_partition AS position_partition,
                     toString(kafka_offset) AS position_offset
              FROM ${clickhouse.database}.events
              WHERE subject IN ${stringSet('subjects')}`,
      query_params: { subjects: stringSetParameter(subjects) },
      format: 'JSONEachRow',
    })
    const rows = await result.json<{
      id: string
      event_source: string
      subject: string
      event_type: string
      event_time: string | number
      event_payload: string
      late: number
      position_partition: number
      position_offset: string
    }>()
    return rows.map((row) => ({
      id: row.id,
      source: row.event_source,
      subject: row.subject,
      type: row.event_type,
      time: Number(row.event_time),
      payload: row.event_payload,
      tooLate: Number(row.late) === 1,
      partition: Number(row.position_partition),
      offset: BigInt(row.position_offset),
    }))
  } catch (error) {
    throw toClickHouseError(error, `loading the events of ${subjects.length} interactions`)
  }
}

/**
 * Every interaction of a partition whose latest outcome waits for a revisit, with the earliest
 * revisit time over its CPIs: the processor's schedule after it takes a partition over.
 */
export async function pendingRevisits(
  clickhouse: ClickHouse,
  partition: number,
): Promise<Map<string, number>> {
  try {
    const result = await clickhouse.writer.query({
      // FINAL keeps each (cpi, cohort minute, subject)'s latest row the way the table does — the highest
      // watermark, and at equal watermarks the row written last — then only waiting ones count.
      query: `SELECT subject, toUnixTimestamp64Milli(min(revisit_at)) AS at
              FROM ${clickhouse.database}.outcomes FINAL
              WHERE kafka_partition = {partition:UInt32} AND revisit_at IS NOT NULL
              GROUP BY subject`,
      query_params: { partition },
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ subject: string; at: string | number }>()
    return new Map(rows.map((row) => [row.subject, Number(row.at)]))
  } catch (error) {
    throw toClickHouseError(error, `loading the revisits of partition ${partition}`)
  }
}

/** The latest event time stored for a partition before an offset (deterministic on replay). */
export async function maxEventTimeBefore(
  clickhouse: ClickHouse,
  position: { topic: string; partition: number; offset: string },
  maxSources = 10_000,
): Promise<{ max: number | undefined; bySource: Map<string, number> }> {
  const events = `${clickhouse.database}.events`
  const where =
    'kafka_topic = {topic:String} AND kafka_partition = {partition:UInt32} AND kafka_offset < {offset:UInt64}'
  try {
    // The partition's latest time, and each source's: the first `maxSources` sources in order of
    // first appearance, as the live clock keeps them (a producer may invent a source per event).
    const result = await clickhouse.writer.query({
      query: `SELECT toUnixTimestamp64Milli(max(time)) AS max, count() AS rows,
                     (SELECT groupArray((event_source, latest)) FROM (
                        SELECT source AS event_source, toUnixTimestamp64Milli(max(time)) AS latest,
                               min(kafka_offset) AS first
                        FROM ${events} WHERE ${where}
                        GROUP BY source ORDER BY first LIMIT {maxSources:UInt32})) AS sources
              FROM ${events} WHERE ${where}`,
      query_params: { ...position, maxSources },
      format: 'JSONEachRow',
    })
    const [row] = await result.json<{ max: string; rows: string; sources: [string, string | number][] }>()
    const bySource = new Map(
      (row?.sources ?? []).map(([source, latest]) => [source, Number(latest)] as const),
    )
    return { max: row && Number(row.rows) > 0 ? Number(row.max) : undefined, bySource }
  } catch (error) {
    throw toClickHouseError(error, 'reading the latest event time of a partition')
  }
}

export async function recordWatermarks(
  clickhouse: ClickHouse,
  rows: readonly { topic: string; partition: number; watermark: number; maxEventTime: number }[],
): Promise<void> {
  if (rows.length === 0) return
  try {
    await clickhouse.writer.insert({
      table: `${clickhouse.database}.watermarks`,
      values: rows.map((row) => ({
        topic: row.topic,
        partition: row.partition,
        watermark: new Date(row.watermark).toISOString(),
        max_event_time: new Date(row.maxEventTime).toISOString(),
      })),
      format: 'JSONEachRow',
    })
  } catch (error) {
    throw toClickHouseError(error, 'recording watermarks')
  }
}

export interface CpiValueRow extends CpiPoint {
  cpi: string
  dimension: string
  value: string
  definitionVersion: number
}

/** CPI values at a grain (`cpi_values`, `cpi_values_hourly`, `cpi_values_daily`), through the query path. */
export async function queryCpiValues(
  clickhouse: ClickHouse,
  filter: { grain?: 'minute' | 'hour' | 'day'; cpi?: string; dimension?: string } = {},
): Promise<CpiValueRow[]> {
  const view = { minute: 'cpi_values', hour: 'cpi_values_hourly', day: 'cpi_values_daily' }[
    filter.grain ?? 'minute'
  ]
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT cpi, window_start, dimension, value, good, total, pending, ratio, latency_count, latency_quantiles_ms AS q, status,
                     definition_version
              FROM ${clickhouse.database}.${view}
              WHERE ({cpi:String} = '' OR cpi = {cpi:String}) AND ({dimension:String} = '' OR dimension = {dimension:String})
              ORDER BY cpi, window_start, dimension, value`,
      query_params: { cpi: filter.cpi ?? '', dimension: filter.dimension ?? '' },
      format: 'JSONEachRow',
    })
    const rows = await result.json<Record<string, unknown>>()
    return rows.map((row) => ({
      cpi: String(row.cpi),
      dimension: String(row.dimension),
      value: String(row.value),
      ...toPoint(row),
      definitionVersion: Number(row.definition_version),
    }))
  } catch (error) {
    throw toClickHouseError(error, 'querying CPI values')
  }
}

/** Where a partition's clock stands: its latest stored event time and the last watermark recorded. */
export async function partitionTime(
  clickhouse: ClickHouse,
  position: { topic: string; partition: number },
): Promise<{ maxEventTime?: number; watermark?: number }> {
  try {
    const result = await clickhouse.writer.query({
      query: `SELECT
                (SELECT toUnixTimestamp64Milli(max(time)) FROM ${clickhouse.database}.events
                 WHERE kafka_topic = {topic:String} AND kafka_partition = {partition:UInt32}) AS max_event_time,
                (SELECT count() FROM ${clickhouse.database}.events
                 WHERE kafka_topic = {topic:String} AND kafka_partition = {partition:UInt32}) AS events,
                (SELECT toUnixTimestamp64Milli(max(watermark)) FROM ${clickhouse.database}.watermarks
                 WHERE topic = {topic:String} AND partition = {partition:UInt32}) AS recorded,
                (SELECT count() FROM ${clickhouse.database}.watermarks
                 WHERE topic = {topic:String} AND partition = {partition:UInt32}) AS records`,
      query_params: position,
      format: 'JSONEachRow',
    })
    const [row] = await result.json<{
      max_event_time: string
      events: string
      recorded: string
      records: string
    }>()
    const time: { maxEventTime?: number; watermark?: number } = {}
    if (row && Number(row.events) > 0) time.maxEventTime = Number(row.max_event_time)
    if (row && Number(row.records) > 0) time.watermark = Number(row.recorded)
    return time
  } catch (error) {
    throw toClickHouseError(error, 'reading where a partition clock stands')
  }
}
