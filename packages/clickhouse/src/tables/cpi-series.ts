import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineQuery } from '../query.ts'
import { histogramKey, histogramQuantiles, MINUTE_MS, ROLLUP_GRAINS } from './rollups.ts'

// Reads of CPI values over arbitrary ranges, steps and segments, for the API and the alerter.
// They read the rollup `cpi_rollup` (written by the processor: one row per CPI, minute of cohort
// time and segment value), so a read costs what its range holds in minutes, however many
// outcomes the table holds; ranges count in whole minutes. Filters on two dimensions at once have
// no rollup and aggregate `outcomes_now`. Every value reaches SQL as a query parameter.

export interface CpiPoint {
  windowStart: string
  good: number
  total: number
  pending: number
  ratio: number | null
  p50: number | null
  p90: number | null
  p99: number | null
  status: 'provisional' | 'final'
}

export interface SeriesQuery {
  cpi: string
  from: number
  to: number
  /** Window length in seconds; undefined: one window for the whole range. */
  stepSeconds?: number
  /** Group by this segment dimension (interactions without it are left out). */
  by?: string
  /** Only interactions whose segments have these values. */
  where?: Readonly<Record<string, string>>
}

/** Aggregates over unit rows (see `units`): the merged latency histogram and the open waits' keys. */
const aggregates = `sum(good) AS good,
       sum(total) AS total,
       sum(pending) AS pending,
       sum(latency_count) AS latency_count,
       sumMap(latency_histogram) AS histogram,
       groupArrayArray(open_keys) AS open_keys,
       if(sum(provisional) > 0, 'provisional', 'final') AS status`

/** p50, p90, p99 of a row's histogram (`histogram`: {key: count}) and open waits (`open_keys`). */
function latencies(row: Record<string, unknown>): [number, number, number] | null {
  const counts = new Map<number, number>()
  for (const [key, count] of Object.entries((row.histogram as Record<string, number | string>) ?? {}))
    counts.set(Number(key), Number(count))
  for (const key of (row.open_keys as number[] | undefined) ?? []) counts.set(key, (counts.get(key) ?? 0) + 1)
  const keys = [...counts.keys()].sort((a, b) => a - b)
  return histogramQuantiles(
    keys,
    keys.map((key) => counts.get(key) as number),
  )
}

const toIso = (value: unknown): string => new Date(`${String(value).replace(' ', 'T')}Z`).toISOString()

/**
 * A point from a row with good, total, pending, latency_count, status, window_start, and either
 * `histogram` with `open_keys` (the API's reads) or `q`, the percentiles a view computed.
 */
export function toPoint(row: Record<string, unknown>): CpiPoint {
  const good = Number(row.good)
  const total = Number(row.total)
  const computed = row.q as (number | null)[] | undefined
  const quantiles =
    Number(row.latency_count) === 0
      ? null
      : computed
        ? computed.map((value) => (value === null || Number.isNaN(Number(value)) ? null : Number(value)))
        : latencies(row)
  return {
    windowStart: toIso(row.window_start),
    good,
    total,
    pending: Number(row.pending),
    ratio: total === 0 ? null : good / total,
    p50: quantiles?.[0] ?? null,
    p90: quantiles?.[1] ?? null,
    p99: quantiles?.[2] ?? null,
    status: row.status === 'provisional' ? 'provisional' : 'final',
  }
}

/** A range widened to whole minutes of cohort time, the rollup's grain: [floor(from), ceil(to)). */
export function wholeMinutes(from: number, to: number): { from: number; to: number } {
  return { from: Math.floor(from / MINUTE_MS) * MINUTE_MS, to: Math.ceil(to / MINUTE_MS) * MINUTE_MS }
}

/**
 * A range of whole minutes cut into rollup buckets: the coarsest grain's whole buckets, the rest
 * at both ends in finer ones. `grains` are the ones allowed (each bucket must fall in one window).
 */
export function rollupSegments(
  from: number,
  to: number,
  grains: readonly number[],
): { grain: number; from: number; to: number }[] {
  const [coarsest, ...finer] = [...grains].sort((a, b) => b - a)
  if (coarsest === undefined || from >= to) return []
  const size = coarsest * 1000
  const first = Math.ceil(from / size) * size
  const last = Math.floor(to / size) * size
  if (first >= last) return rollupSegments(from, to, finer)
  return [
    ...rollupSegments(from, first, finer),
    { grain: coarsest, from: first, to: last },
    ...rollupSegments(last, to, finer),
  ]
}

interface UnitRange {
  /** One CPI, or every CPI. */
  cpi?: string
  /** Whole minutes (see `wholeMinutes`). */
  from: number
  to: number
  /** Grains whose buckets may be read (each must fall in one window); minutes always may. */
  grains?: readonly number[]
  /** One dimension (`all` for the whole CPI), or every dimension (each outcome once per dimension it has). */
  dimension?: string
  /** With `dimension`: one value of it. */
  value?: string
}

/** The values of the placeholders `units` writes for a range. */
const unitParams = (range: Pick<UnitRange, 'cpi' | 'dimension' | 'value'>) => ({
  unit_cpi: range.cpi ?? '',
  unit_dimension: range.dimension ?? '',
  unit_value: range.value ?? '',
})

/**
 * Unit rows of a range of whole minutes, one per rollup row read: (cpi, t, dimension, value,
 * good, total, pending, provisional, latency_count, latency_histogram, open_keys) — t is the
 * bucket's start. Open interactions' waits are measured to their partition's current watermark.
 * Its placeholders take `unitParams(range)`.
 */
function units(db: string, range: UnitRange): string {
  const grains = [60, ...(range.grains ?? []).filter((grain) => grain !== 60)]
  // Computed integers only: literal ranges let the engine skip to them in the sorting key.
  const buckets = rollupSegments(range.from, range.to, grains)
    .map(
      (segment) =>
        `(grain = ${segment.grain} AND bucket >= toDateTime(${segment.from / 1000}, 'UTC') AND bucket < toDateTime(${segment.to / 1000}, 'UTC'))`,
    )
    .join(' OR ')
  const cpi = range.cpi === undefined ? '' : 'AND cpi = {unit_cpi:String}'
  const dimension = range.dimension === undefined ? '' : 'AND dimension = {unit_dimension:String}'
  const value = range.value === undefined ? '' : 'AND value = {unit_value:String}'
  const wait = 'watermark_of[o.1] - o.2'
  // The watermarks as the views read them, in the same query: one snapshot for the whole read.
  return `WITH (SELECT CAST((groupArray(partition), groupArray(current)), 'Map(UInt32, Int64)')
                FROM (${WATERMARK_PER_PARTITION.replaceAll('{db}', db)})) AS watermark_of
          SELECT cpi, toDateTime64(bucket, 3, 'UTC') AS t, dimension, value, good, total, pending, provisional,
                 latency_count, latency_histogram, arrayMap(o -> ${histogramKey(wait)}, open_since) AS open_keys
          FROM ${db}.cpi_rollup FINAL
          WHERE (${buckets || '0'}) ${cpi} ${dimension} ${value}`
}

/** Each partition's current watermark (the latest recorded, whatever the topic), as the views take it. */
const WATERMARK_PER_PARTITION = `SELECT partition, toUnixTimestamp64Milli(argMax(watermark, updated_at)) AS current
                                  FROM {db}.watermarks GROUP BY partition`

const watermarksNowQuery = defineQuery({
  name: 'reading the current watermarks',
  params: z.object({}),
  sql: (database) => WATERMARK_PER_PARTITION.replaceAll('{db}', database),
  row: (row) => [Number(row.partition), Number(row.current)] as const,
})

/**
 * Each partition's current watermark, read now: what an interaction still open past its deadline
 * has waited is measured to it.
 */
export async function currentWatermarks(clickhouse: ClickHouse): Promise<Map<number, number>> {
  return new Map(await watermarksNowQuery(clickhouse, {}))
}

/** Grains whose buckets each fall within one window of `stepSeconds` (epoch-aligned), or all without a step. */
const grainsWithin = (stepSeconds: number | undefined) =>
  ROLLUP_GRAINS.filter((grain) => stepSeconds === undefined || stepSeconds % grain === 0)

/**
 * Unit rows from `outcomes_now` alone, for filters the rollup has no rows for (two dimensions):
 * dimension `by` (or `all`), filtered by the segment values of `where` (`detailParams`).
 */
function detailUnits(db: string, query: SeriesQuery): string {
  const known = `state IN ('good', 'bad') AND latency_ms IS NOT NULL`
  const filters = Object.keys(query.where ?? {})
    .map((_, index) => ` AND segments[{where_name_${index}:String}] = {where_value_${index}:String}`)
    .join('')
  return `SELECT cpi, cohort_at AS t, ${query.by ? '{by:String}' : "'all'"} AS dimension,
                 ${query.by ? 'segments[{by:String}]' : "'all'"} AS value,
                 toUInt64(state = 'good') AS good, toUInt64(state IN ('good', 'bad')) AS total,
                 toUInt64(state = 'pending') AS pending, toUInt64(status = 'provisional') AS provisional,
                 toUInt64(${known}) AS latency_count,
                 if(${known}, map(${histogramKey('assumeNotNull(latency_ms)')}, toUInt64(1)), map()) AS latency_histogram,
                 CAST([], 'Array(Int16)') AS open_keys
          FROM ${db}.outcomes_now
          WHERE cpi = {cpi:String}
            AND cohort_at >= toDateTime64({from:Float64}, 3, 'UTC') AND cohort_at < toDateTime64({to:Float64}, 3, 'UTC')
            ${query.by ? `AND segments[{by:String}] != ''` : ''}${filters}`
}

/** The values of the `where` placeholders of `detailUnits`. */
function detailParams(query: SeriesQuery): Record<string, string> {
  const params: Record<string, string> = {}
  for (const [index, [name, value]] of Object.entries(query.where ?? {}).entries()) {
    params[`where_name_${index}`] = name
    params[`where_value_${index}`] = value
  }
  return params
}

/** The rollup rows a series query reads (one dimension, or none, asked for); undefined: `detailUnits`. */
function seriesRange(query: SeriesQuery): UnitRange | undefined {
  const where = Object.entries(query.where ?? {})
  const [first] = where
  const range = { cpi: query.cpi, from: query.from, to: query.to, grains: grainsWithin(query.stepSeconds) }
  if (where.length === 0) return { ...range, dimension: query.by ?? 'all' }
  if (where.length === 1 && first && (query.by === undefined || query.by === first[0]))
    return { ...range, dimension: first[0], value: first[1] }
  return undefined
}

const seriesQuery = defineQuery({
  name: 'querying the series of a CPI',
  params: z.object({
    cpi: z.string(),
    from: z.number(),
    to: z.number(),
    stepSeconds: z.number().optional(),
    by: z.string().optional(),
    where: z.record(z.string(), z.string()).optional(),
  }),
  sql: (db, query) => {
    const range = seriesRange(query)
    const window = query.stepSeconds
      ? `toStartOfInterval(t, toIntervalSecond({step:UInt32}), 'UTC')`
      : `toDateTime64({from:Float64}, 3, 'UTC')`
    return `SELECT ${window} AS window_start, ${query.by ? 'value' : `'all'`} AS segment, ${aggregates}
               FROM (${range ? units(db, range) : detailUnits(db, query)})
               GROUP BY window_start, segment
               ORDER BY segment, window_start`
  },
  bind: (query) => {
    const range = seriesRange(query)
    return {
      cpi: query.cpi,
      from: query.from / 1000,
      to: query.to / 1000,
      step: query.stepSeconds ?? 0,
      by: query.by ?? '',
      ...(range ? unitParams(range) : detailParams(query)),
    }
  },
  row: (row) => ({ segment: String(row.segment), point: toPoint(row) }),
  what: ({ cpi }) => `querying the series of CPI ${cpi}`,
})

/**
 * One series per segment (`all` without `by`), points ordered by window. The rollup's grain is a
 * minute of cohort time: a range is counted in whole minutes (`wholeMinutes`); callers that
 * report the range report it widened.
 */
export async function queryCpiSeries(
  clickhouse: ClickHouse,
  asked: SeriesQuery,
): Promise<{ segment: string; points: CpiPoint[] }[]> {
  const rows = await seriesQuery(clickhouse, { ...asked, ...wholeMinutes(asked.from, asked.to) })
  const bySegment = new Map<string, CpiPoint[]>()
  for (const { segment, point } of rows) {
    const points = bySegment.get(segment) ?? []
    points.push(point)
    bySegment.set(segment, points)
  }
  return [...bySegment].map(([segment, points]) => ({ segment, points }))
}

/**
 * The windows of `queryCpiWindows`: labelled from `to` back (window k starts at from + k·step),
 * holding whole minutes — the last one ends with the minute `to` falls in, so the freshest
 * minute counts.
 */
function windowsPlan(options: { to: number; stepSeconds: number; windows: number }) {
  const stepMs = options.stepSeconds * 1000
  const from = options.to - stepMs * options.windows
  const { to: end } = wholeMinutes(from, options.to)
  const minutesFrom = end - stepMs * options.windows
  const range: UnitRange = {
    from: minutesFrom,
    to: end,
    // Buckets within one window: windows here start at any minute.
    grains: grainsWithin(options.stepSeconds).filter((grain) => (minutesFrom / 1000) % grain === 0),
    dimension: 'all',
  }
  return { from, stepMs, minutesFrom, range }
}

const windowsQuery = defineQuery({
  name: 'querying the current CPI values',
  params: z.object({
    to: z.number(),
    stepSeconds: z.number().positive(),
    windows: z.number().int().nonnegative(),
  }),
  sql: (db, options) => `SELECT cpi,
                      toDateTime64({from:Float64} + intDiv(toUnixTimestamp64Milli(t) - {minutesFrom:Int64}, {stepMs:Int64}) * {step:Float64}, 3, 'UTC') AS window_start,
                      ${aggregates}
               FROM (${units(db, windowsPlan(options).range)})
               GROUP BY cpi, window_start
               ORDER BY cpi, window_start`,
  bind: (options) => {
    const { from, stepMs, minutesFrom, range } = windowsPlan(options)
    return { from: from / 1000, minutesFrom, step: options.stepSeconds, stepMs, ...unitParams(range) }
  },
  row: (row) => ({ cpi: String(row.cpi), point: toPoint(row) }),
})

/**
 * Every CPI's value in consecutive windows of `stepSeconds` ending at `to` (the whole CPI, no
 * segment): the catalog's current value, its previous window and a sparkline in one scan.
 */
export async function queryCpiWindows(
  clickhouse: ClickHouse,
  options: { to: number; stepSeconds: number; windows: number },
): Promise<Map<string, CpiPoint[]>> {
  const byCpi = new Map<string, CpiPoint[]>()
  for (const { cpi, point } of await windowsQuery(clickhouse, options)) {
    const points = byCpi.get(cpi) ?? []
    points.push(point)
    byCpi.set(cpi, points)
  }
  return byCpi
}

export interface MinuteCountRow {
  dimension: string
  value: string
  minute: number
  good: number
  total: number
  pending: number
}

const minuteCountsQuery = defineQuery({
  name: 'querying minute counts of a CPI',
  params: z.object({ cpi: z.string(), from: z.number(), to: z.number() }),
  sql: (db, { cpi, from, to }) => `SELECT dimension, value,
                     toUnixTimestamp64Milli(toDateTime64(toStartOfMinute(t), 3, 'UTC')) AS minute,
                     sum(good) AS good, sum(total) AS total, sum(pending) AS pending
              FROM (${units(db, { cpi, ...wholeMinutes(from, to) })})
              GROUP BY dimension, value, minute
              ORDER BY dimension, value, minute`,
  bind: ({ cpi }) => unitParams({ cpi }),
  row: (row): MinuteCountRow => ({
    dimension: String(row.dimension),
    value: String(row.value),
    minute: Number(row.minute),
    good: Number(row.good),
    total: Number(row.total),
    pending: Number(row.pending),
  }),
  what: ({ cpi }) => `querying minute counts of CPI ${cpi}`,
})

/** Known outcomes per minute of one CPI, for the whole CPI (`all`) and every segment: the alerter's input. */
export const queryMinuteCounts = (
  clickhouse: ClickHouse,
  options: { cpi: string; from: number; to: number },
): Promise<MinuteCountRow[]> => minuteCountsQuery(clickhouse, options)

const lastOutcomesQuery = defineQuery({
  name: 'querying the latest outcome per CPI',
  params: z.object({ before: z.number() }),
  sql: (database) => `SELECT cpi, toUnixTimestamp64Milli(max(cohort_at)) AS last
              FROM ${database}.outcomes
              WHERE state != 'excluded' AND cohort_at < toDateTime64({before:Float64}, 3, 'UTC')
              GROUP BY cpi`,
  row: z.object({ cpi: z.string(), last: z.coerce.number() }),
})

/** Latest cohort time with any outcome before `before`, per CPI (the no-data rule). */
export async function queryLastOutcomeTimes(
  clickhouse: ClickHouse,
  before: number,
): Promise<Map<string, number>> {
  const rows = await lastOutcomesQuery(clickhouse, { before: before / 1000 })
  return new Map(rows.map((row) => [row.cpi, row.last]))
}

export interface PartitionFreshness {
  topic: string
  partition: number
  watermark: number
  maxEventTime: number
  updatedAt: number
}

const watermarksQuery = defineQuery({
  name: 'querying watermarks',
  params: z.object({}),
  sql: (database) => `SELECT topic, partition,
                     toUnixTimestamp64Milli(max(watermark)) AS watermark,
                     toUnixTimestamp64Milli(max(max_event_time)) AS max_event_time,
                     toUnixTimestamp64Milli(max(updated_at)) AS updated_at
              FROM ${database}.watermarks
              GROUP BY topic, partition ORDER BY topic, partition`,
  row: z
    .object({
      topic: z.string(),
      partition: z.coerce.number(),
      watermark: z.coerce.number(),
      max_event_time: z.coerce.number(),
      updated_at: z.coerce.number(),
    })
    .transform(
      (row): PartitionFreshness => ({
        topic: row.topic,
        partition: row.partition,
        watermark: row.watermark,
        maxEventTime: row.max_event_time,
        updatedAt: row.updated_at,
      }),
    ),
})

/** The processor's latest recorded watermark and event time per partition. */
export const queryWatermarks = (clickhouse: ClickHouse): Promise<PartitionFreshness[]> =>
  watermarksQuery(clickhouse, {})
