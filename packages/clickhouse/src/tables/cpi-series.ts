import type { ClickHouse } from '../client.ts'
import { toClickHouseError } from '../errors.ts'

// Reads of CPI values over arbitrary ranges, steps and segments, for the API and the alerter.
// They aggregate `outcomes_now` (the latest outcome of each interaction, open ones measured up
// to the watermark) exactly as the documented `cpi_values*` views do, but filter by CPI, range
// and segment first. Every value reaches SQL as a query parameter.

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

const aggregates = `countIf(state = 'good') AS good,
       countIf(state IN ('good', 'bad')) AS total,
       countIf(state = 'pending') AS pending,
       countIf(state IN ('good', 'bad') AND latency_ms IS NOT NULL) AS latency_count,
       quantilesIf(0.5, 0.9, 0.99)(latency_ms, state IN ('good', 'bad') AND latency_ms IS NOT NULL) AS q,
       if(countIf(status = 'provisional') > 0, 'provisional', 'final') AS status`

const toIso = (value: unknown): string => new Date(`${String(value).replace(' ', 'T')}Z`).toISOString()

/** A point from a row with good, total, pending, latency_count, q (quantiles), status, window_start. */
export function toPoint(row: Record<string, unknown>): CpiPoint {
  const good = Number(row.good)
  const total = Number(row.total)
  const quantiles = (row.q as (number | null)[] | undefined) ?? []
  const measured = Number(row.latency_count) > 0
  const latency = (index: number) =>
    !measured || Number.isNaN(Number(quantiles[index])) ? null : Number(quantiles[index])
  return {
    windowStart: toIso(row.window_start),
    good,
    total,
    pending: Number(row.pending),
    ratio: total === 0 ? null : good / total,
    p50: latency(0),
    p90: latency(1),
    p99: latency(2),
    status: row.status === 'provisional' ? 'provisional' : 'final',
  }
}

/** Segment filters as SQL over query parameters: the names and values never enter the text. */
function segmentFilter(where: Readonly<Record<string, string>>, params: Record<string, unknown>): string {
  return Object.entries(where)
    .map(([name, value], index) => {
      params[`where_name_${index}`] = name
      params[`where_value_${index}`] = value
      return ` AND segments[{where_name_${index}:String}] = {where_value_${index}:String}`
    })
    .join('')
}

/** One series per segment (`all` without `by`), points ordered by window. */
export async function queryCpiSeries(
  clickhouse: ClickHouse,
  query: SeriesQuery,
): Promise<{ segment: string; points: CpiPoint[] }[]> {
  const params: Record<string, unknown> = {
    cpi: query.cpi,
    from: query.from / 1000,
    to: query.to / 1000,
    step: query.stepSeconds ?? 0,
    by: query.by ?? '',
  }
  const window = query.stepSeconds
    ? `toStartOfInterval(cohort_at, toIntervalSecond({step:UInt32}), 'UTC')`
    : `toDateTime64({from:Float64}, 3, 'UTC')`
  const segment = query.by ? `segments[{by:String}]` : `'all'`
  const sql = `SELECT ${window} AS window_start, ${segment} AS segment, ${aggregates}
               FROM ${clickhouse.database}.outcomes_now
               WHERE cpi = {cpi:String}
                 AND cohort_at >= toDateTime64({from:Float64}, 3, 'UTC') AND cohort_at < toDateTime64({to:Float64}, 3, 'UTC')
                 ${query.by ? `AND segments[{by:String}] != ''` : ''}${segmentFilter(query.where ?? {}, params)}
               GROUP BY window_start, segment
               ORDER BY segment, window_start`
  try {
    const result = await clickhouse.reader.query({ query: sql, query_params: params, format: 'JSONEachRow' })
    const rows = await result.json<Record<string, unknown>>()
    const bySegment = new Map<string, CpiPoint[]>()
    for (const row of rows) {
      const name = String(row.segment)
      const points = bySegment.get(name) ?? []
      points.push(toPoint(row))
      bySegment.set(name, points)
    }
    return [...bySegment].map(([segment, points]) => ({ segment, points }))
  } catch (error) {
    throw toClickHouseError(error, `querying the series of CPI ${query.cpi}`)
  }
}

/**
 * Every CPI's value in consecutive windows of `stepSeconds` ending at `to` (the whole CPI, no
 * segment): the catalog's current value, its previous window and a sparkline in one scan.
 */
export async function queryCpiWindows(
  clickhouse: ClickHouse,
  options: { to: number; stepSeconds: number; windows: number },
): Promise<Map<string, CpiPoint[]>> {
  const stepMs = options.stepSeconds * 1000
  const from = options.to - stepMs * options.windows
  // Windows aligned on `to`: window k covers [from + k·step, from + (k+1)·step).
  const sql = `SELECT cpi,
                      toDateTime64({from:Float64} + intDiv(toUnixTimestamp64Milli(cohort_at) - {fromMs:Int64}, {stepMs:Int64}) * {step:Float64}, 3, 'UTC') AS window_start,
                      ${aggregates}
               FROM ${clickhouse.database}.outcomes_now
               WHERE cohort_at >= toDateTime64({from:Float64}, 3, 'UTC') AND cohort_at < toDateTime64({to:Float64}, 3, 'UTC')
               GROUP BY cpi, window_start
               ORDER BY cpi, window_start`
  try {
    const result = await clickhouse.reader.query({
      query: sql,
      query_params: {
        from: from / 1000,
        fromMs: from,
        to: options.to / 1000,
        step: options.stepSeconds,
        stepMs,
      },
      format: 'JSONEachRow',
    })
    const rows = await result.json<Record<string, unknown>>()
    const byCpi = new Map<string, CpiPoint[]>()
    for (const row of rows) {
      const points = byCpi.get(String(row.cpi)) ?? []
      points.push(toPoint(row))
      byCpi.set(String(row.cpi), points)
    }
    return byCpi
  } catch (error) {
    throw toClickHouseError(error, 'querying the current CPI values')
  }
}

export interface MinuteCountRow {
  dimension: string
  value: string
  minute: number
  good: number
  total: number
  pending: number
}

/** Known outcomes per minute of one CPI, for the whole CPI (`all`) and every segment: the alerter's input. */
export async function queryMinuteCounts(
  clickhouse: ClickHouse,
  options: { cpi: string; from: number; to: number },
): Promise<MinuteCountRow[]> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT dimension, value, toUnixTimestamp64Milli(toDateTime64(toStartOfMinute(cohort_at), 3, 'UTC')) AS minute,
                     countIf(state = 'good') AS good, countIf(state IN ('good', 'bad')) AS total,
                     countIf(state = 'pending') AS pending
              FROM ${clickhouse.database}.outcome_segments
              WHERE cpi = {cpi:String}
                AND cohort_at >= toDateTime64({from:Float64}, 3, 'UTC') AND cohort_at < toDateTime64({to:Float64}, 3, 'UTC')
              GROUP BY dimension, value, minute
              ORDER BY dimension, value, minute`,
      query_params: { cpi: options.cpi, from: options.from / 1000, to: options.to / 1000 },
      format: 'JSONEachRow',
    })
    const rows = await result.json<Record<string, unknown>>()
    return rows.map((row) => ({
      dimension: String(row.dimension),
      value: String(row.value),
      minute: Number(row.minute),
      good: Number(row.good),
      total: Number(row.total),
      pending: Number(row.pending),
    }))
  } catch (error) {
    throw toClickHouseError(error, `querying minute counts of CPI ${options.cpi}`)
  }
}

/** Latest cohort time with any outcome before `before`, per CPI (the no-data rule). */
export async function queryLastOutcomeTimes(
  clickhouse: ClickHouse,
  before: number,
): Promise<Map<string, number>> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT cpi, toUnixTimestamp64Milli(max(cohort_at)) AS last
              FROM ${clickhouse.database}.outcomes
              WHERE state != 'excluded' AND cohort_at < toDateTime64({before:Float64}, 3, 'UTC')
              GROUP BY cpi`,
      query_params: { before: before / 1000 },
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ cpi: string; last: string | number }>()
    return new Map(rows.map((row) => [row.cpi, Number(row.last)]))
  } catch (error) {
    throw toClickHouseError(error, 'querying the latest outcome per CPI')
  }
}

export interface PartitionFreshness {
  topic: string
  partition: number
  watermark: number
  maxEventTime: number
  updatedAt: number
}

/** The processor's latest recorded watermark and event time per partition. */
export async function queryWatermarks(clickhouse: ClickHouse): Promise<PartitionFreshness[]> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT topic, partition,
                     toUnixTimestamp64Milli(max(watermark)) AS watermark,
                     toUnixTimestamp64Milli(max(max_event_time)) AS max_event_time,
                     toUnixTimestamp64Milli(max(updated_at)) AS updated_at
              FROM ${clickhouse.database}.watermarks
              GROUP BY topic, partition ORDER BY topic, partition`,
      format: 'JSONEachRow',
    })
    const rows = await result.json<Record<string, unknown>>()
    return rows.map((row) => ({
      topic: String(row.topic),
      partition: Number(row.partition),
      watermark: Number(row.watermark),
      maxEventTime: Number(row.max_event_time),
      updatedAt: Number(row.updated_at),
    }))
  } catch (error) {
    throw toClickHouseError(error, 'querying watermarks')
  }
}
