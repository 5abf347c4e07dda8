import type { SeriesQuery } from './cpi-series.ts'

// The rollup cache's unit: a block, every row of one CPI, grain and dimension over 64 buckets
// (see rollup-cache.ts). Pure functions: block keys and ranges, engine rows into blocks, and a
// read's rows into its segments' windows.

const BUCKETS_PER_BLOCK = 64

/** One rollup row as the cache holds it. */
export interface Row {
  bucket: number
  value: string
  good: number
  total: number
  pending: number
  provisional: number
  latencyCount: number
  keys: number[]
  counts: number[]
  open: [number, number][]
  /** Its own percentiles, once computed (a row without open waits: they never change while held). */
  quantiles?: [number, number, number] | null
}

/** The rows of one block, and about how many bytes they hold in memory. */
export interface Block {
  rows: Row[]
  bytes: number
}

/** The seconds a block of `grain` covers. */
export const blockSpan = (grain: number) => grain * BUCKETS_PER_BLOCK

/** The key of the block of a CPI, grain and dimension that starts at `start` (epoch seconds). */
export const keyOf = (cpi: string, grain: number, dimension: string, start: number) =>
  `${cpi}\u0000${grain}\u0000${dimension}\u0000${start}`

/** The key of the block that holds a bucket (epoch seconds). */
export const keyOfBucket = (cpi: string, grain: number, dimension: string, bucket: number) =>
  keyOf(cpi, grain, dimension, bucket - (bucket % blockSpan(grain)))

/** The starts (epoch seconds) of the blocks of `grain` that a range [from, to) in ms touches. */
export function blockStarts(grain: number, from: number, to: number): number[] {
  const span = blockSpan(grain)
  const starts: number[] = []
  for (let start = from / 1000 - ((from / 1000) % span); start < to / 1000; start += span) starts.push(start)
  return starts
}

/** A row of the engine's answer (see `blockRowsQuery` in rollup-cache.ts) as the cache holds it. */
function rowOf(raw: Record<string, unknown>): Row {
  return {
    bucket: Number(raw.at),
    value: String(raw.value),
    good: Number(raw.good),
    total: Number(raw.total),
    pending: Number(raw.pending),
    provisional: Number(raw.provisional),
    latencyCount: Number(raw.latency_count),
    keys: (raw.histogram_keys as number[]).map(Number),
    counts: (raw.histogram_counts as (number | string)[]).map(Number),
    open: (raw.open_since as [number, number | string][]).map(([partition, at]) => [
      Number(partition),
      Number(at),
    ]),
  }
}

/**
 * The wanted blocks of one CPI and dimension filled with the engine's rows (a block without rows
 * stays, empty: it is known to hold none). Rows of blocks not wanted are left out.
 */
export function blocksFromRows(
  cpi: string,
  dimension: string,
  wanted: readonly { grain: number; start: number }[],
  rows: readonly Record<string, unknown>[],
): Map<string, Block> {
  const loaded = new Map<string, Block>(
    wanted.map(({ grain, start }) => [keyOf(cpi, grain, dimension, start), { rows: [], bytes: 200 }]),
  )
  for (const raw of rows) {
    const block = loaded.get(keyOfBucket(cpi, Number(raw.grain), dimension, Number(raw.at)))
    if (!block) continue
    const row = rowOf(raw)
    block.rows.push(row)
    block.bytes += 160 + row.value.length * 2 + row.keys.length * 24 + row.open.length * 48
  }
  return loaded
}

/** What a series read takes from the blocks: its dimension, the one value filtered on, its range in segments. */
export interface SeriesScope {
  dimension: string
  /** The value of `dimension` a filter keeps, if any. */
  only: string | undefined
  /** The range's start, widened to whole minutes (the window of a read without a step). */
  from: number
  segments: readonly { grain: number; from: number; to: number }[]
}

/**
 * The rows of a read in its windows, per segment: each row of the held blocks within its
 * segment's range (and of the filtered value) in the window of `stepSeconds` its bucket starts,
 * or in one window from the range's start without a step.
 */
export function windowRows(
  asked: SeriesQuery,
  scope: SeriesScope,
  held: ReadonlyMap<string, Block>,
): Map<string, Map<number, Row[]>> {
  const windows = new Map<string, Map<number, Row[]>>()
  for (const { grain, from, to } of scope.segments) {
    for (const start of blockStarts(grain, from, to)) {
      for (const row of held.get(keyOf(asked.cpi, grain, scope.dimension, start))?.rows ?? []) {
        if (row.bucket < from / 1000 || row.bucket >= to / 1000) continue
        if (scope.only !== undefined && row.value !== scope.only) continue
        const segment = asked.by ? row.value : 'all'
        const window = asked.stepSeconds ? row.bucket - (row.bucket % asked.stepSeconds) : scope.from / 1000
        const bySegment = windows.get(segment) ?? new Map<number, Row[]>()
        windows.set(segment, bySegment)
        const rows = bySegment.get(window) ?? []
        bySegment.set(window, rows)
        rows.push(row)
      }
    }
  }
  return windows
}
