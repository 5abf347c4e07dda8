import { describe, expect, it } from 'vitest'
import { rollupSegments, wholeMinutes } from './cpi-series.ts'
import { histogramQuantiles, histogramValue, minutesOf } from './rollups.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
/** The key the rollup gives a latency (the SQL of migration 0008, in TypeScript). */
const keyOf = (ms: number) =>
  ms === 0 ? 0 : Math.sign(ms) * (1 + Math.round(Math.log(Math.abs(ms)) / Math.log(1.01)))

describe('rollup reads', () => {
  it('widen a range to whole minutes', () => {
    expect(wholeMinutes(10 * MINUTE + 1, 20 * MINUTE - 1)).toEqual({ from: 10 * MINUTE, to: 20 * MINUTE })
    expect(wholeMinutes(10 * MINUTE, 20 * MINUTE)).toEqual({ from: 10 * MINUTE, to: 20 * MINUTE })
  })

  it('cut a range into the coarsest whole buckets allowed, finer ones at the ends', () => {
    const day = 24 * HOUR
    // 23:55 → 02:03 the next day, hours allowed: 5 minutes to midnight, 2 hours, 3 minutes.
    expect(rollupSegments(day - 5 * MINUTE, day + 2 * HOUR + 3 * MINUTE, [60, 300, 3600])).toEqual([
      { grain: 300, from: day - 5 * MINUTE, to: day },
      { grain: 3600, from: day, to: day + 2 * HOUR },
      { grain: 60, from: day + 2 * HOUR, to: day + 2 * HOUR + 3 * MINUTE },
    ])
    // Minutes only (the alerter's per-minute counts), and a range shorter than any coarse bucket.
    expect(rollupSegments(0, 3 * MINUTE, [60])).toEqual([{ grain: 60, from: 0, to: 3 * MINUTE }])
    expect(rollupSegments(7 * MINUTE, 9 * MINUTE, [60, 300, 3600, 86_400])).toEqual([
      { grain: 60, from: 7 * MINUTE, to: 9 * MINUTE },
    ])
    expect(rollupSegments(5 * MINUTE, 5 * MINUTE, [60])).toEqual([])
    // The pieces cover the range exactly, without overlap.
    const pieces = rollupSegments(13 * MINUTE, 3 * day + 17 * MINUTE, [60, 300, 3600, 86_400])
    expect(pieces[0]?.from).toBe(13 * MINUTE)
    expect(pieces.at(-1)?.to).toBe(3 * day + 17 * MINUTE)
    for (const [index, piece] of pieces.entries()) {
      if (index > 0) expect(piece.from).toBe(pieces[index - 1]?.to)
      expect(piece.from % (piece.grain * 1000)).toBe(0)
      expect(piece.to % (piece.grain * 1000)).toBe(0)
    }
    expect(pieces.map((piece) => piece.grain)).toEqual([60, 300, 3600, 86_400, 300, 60])
  })

  it('give percentiles within 1 % of the exact ones, interpolated like them', () => {
    // Latencies of a skewed shape, from 0 ms to minutes, deterministic.
    const latencies = Array.from({ length: 5000 }, (_, index) =>
      Math.round(Math.exp((index % 997) / 80) - 1),
    ).sort((a, b) => a - b)
    const counts = new Map<number, number>()
    for (const latency of latencies) counts.set(keyOf(latency), (counts.get(keyOf(latency)) ?? 0) + 1)
    const keys = [...counts.keys()].sort((a, b) => a - b)
    const got = histogramQuantiles(
      keys,
      keys.map((key) => counts.get(key) as number),
    )
    const exact = (q: number) => {
      const position = (latencies.length - 1) * q
      const low = latencies[Math.floor(position)] as number
      return low + ((latencies[Math.ceil(position)] as number) - low) * (position - Math.floor(position))
    }
    for (const [index, q] of [0.5, 0.9, 0.99].entries()) {
      const want = exact(q)
      expect(Math.abs((got?.[index] as number) - want)).toBeLessThanOrEqual(Math.max(1, want * 0.01))
    }
    // Small whole latencies come back exactly; an empty histogram has none.
    expect([0, 1, 2, 7, 49].map((ms) => histogramValue(keyOf(ms)))).toEqual([0, 1, 2, 7, 49])
    expect(histogramValue(keyOf(-20))).toBe(-20)
    expect(histogramQuantiles([], [])).toBeNull()
    expect(histogramQuantiles([keyOf(10), keyOf(20)], [1, 1])).toEqual([15, 19, 19.9])
  })

  it('name the minutes outcome rows fall in, once each', () => {
    expect(
      minutesOf([
        { cpi: 'a', cohort_at: '2026-12-07T10:00:59.999Z' },
        { cpi: 'a', cohort_at: '2026-12-07T10:00:00.000Z' },
        { cpi: 'b', cohort_at: '2026-12-07T10:00:30.000Z' },
        { cpi: 'a', cohort_at: '2026-12-07T10:01:00.000Z' },
      ]),
    ).toEqual([
      { cpi: 'a', minute: Date.parse('2026-12-07T10:00:00Z') },
      { cpi: 'b', minute: Date.parse('2026-12-07T10:00:00Z') },
      { cpi: 'a', minute: Date.parse('2026-12-07T10:01:00Z') },
    ])
  })
})
