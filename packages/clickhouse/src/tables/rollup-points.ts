import type { CpiPoint } from './cpi-series.ts'
import { latencyHistogramKey as histogramKey } from './partition-rollups.ts'
import type { Row } from './rollup-blocks.ts'
import { histogramQuantiles, histogramValue } from './rollups.ts'

// The rollup cache's arithmetic: one point of a series from the rows of its window, the same
// numbers as the SQL path (`queryCpiSeries`): the same sums and percentile arithmetic.

/** Histogram keys of Int64 latencies stay within ±(1 + ln(2^63) / ln 1.01) ≈ ±4,390: a dense array covers them. */
const KEY_OFFSET = 4608
const scratch = new Float64Array(2 * KEY_OFFSET)

/**
 * One point from the rows of its window: sums, and percentiles from the rows' histograms and
 * open waits merged in a dense array (the same ranks and values as `histogramQuantiles`).
 */
export function pointOf(
  window: number,
  rows: readonly Row[],
  watermark: ReadonlyMap<number, number>,
): CpiPoint {
  const [only] = rows
  // A window of one bucket (the usual drill-down): that row's percentiles, computed once per row held.
  if (rows.length === 1 && only && only.open.length === 0) {
    if (only.quantiles === undefined) only.quantiles = histogramQuantiles(only.keys, only.counts)
    const quantiles = only.latencyCount > 0 ? only.quantiles : null
    return {
      windowStart: new Date(window * 1000).toISOString(),
      good: only.good,
      total: only.total,
      pending: only.pending,
      ratio: only.total === 0 ? null : only.good / only.total,
      p50: quantiles?.[0] ?? null,
      p90: quantiles?.[1] ?? null,
      p99: quantiles?.[2] ?? null,
      status: only.provisional > 0 ? 'provisional' : 'final',
    }
  }
  let good = 0
  let total = 0
  let pending = 0
  let provisional = 0
  let latencyCount = 0
  let low = scratch.length
  let high = -1
  let count = 0
  const put = (key: number, n: number) => {
    const index = Math.min(Math.max(key + KEY_OFFSET, 0), scratch.length - 1)
    scratch[index] = (scratch[index] as number) + n
    count += n
    if (index < low) low = index
    if (index > high) high = index
  }
  for (const row of rows) {
    good += row.good
    total += row.total
    pending += row.pending
    provisional += row.provisional
    latencyCount += row.latencyCount
    for (let index = 0; index < row.keys.length; index++)
      put(row.keys[index] as number, row.counts[index] as number)
    // Open interactions: their wait so far, measured to their partition's current watermark.
    for (const [partition, since] of row.open) put(histogramKey((watermark.get(partition) ?? 0) - since), 1)
  }
  let quantiles: number[] | null = null
  if (latencyCount > 0 && count > 0) {
    // The latency at each rank the three percentiles interpolate between, in one ascending pass.
    const wanted = [0.5, 0.9, 0.99].flatMap((q) => [Math.floor((count - 1) * q), Math.ceil((count - 1) * q)])
    const ranks = [...new Set(wanted)].sort((a, b) => a - b)
    const atRank = new Map<number, number>()
    let seen = 0
    let next = 0
    for (let index = low; index <= high && next < ranks.length; index++) {
      seen += scratch[index] as number
      while (next < ranks.length && seen > (ranks[next] as number))
        atRank.set(ranks[next++] as number, histogramValue(index - KEY_OFFSET))
    }
    const valueAt = (rank: number) => atRank.get(rank) ?? histogramValue(high - KEY_OFFSET)
    quantiles = [0.5, 0.9, 0.99].map((q) => {
      const position = (count - 1) * q
      const lower = valueAt(Math.floor(position))
      return lower + (valueAt(Math.ceil(position)) - lower) * (position - Math.floor(position))
    })
  }
  if (high >= 0) scratch.fill(0, low, high + 1)
  return {
    windowStart: new Date(window * 1000).toISOString(),
    good,
    total,
    pending,
    ratio: total === 0 ? null : good / total,
    p50: quantiles?.[0] ?? null,
    p90: quantiles?.[1] ?? null,
    p99: quantiles?.[2] ?? null,
    status: provisional > 0 ? 'provisional' : 'final',
  }
}
