import { describe, expect, it } from 'vitest'
import type { Row } from './rollup-blocks.ts'
import { pointOf } from './rollup-points.ts'
import { histogramQuantiles } from './rollups.ts'

const row = (fields: Partial<Row>): Row => ({
  bucket: 0,
  value: '',
  good: 0,
  total: 0,
  pending: 0,
  provisional: 0,
  latencyCount: 0,
  keys: [],
  counts: [],
  open: [],
  ...fields,
})

describe('a point from rollup rows', () => {
  it("of one row is that row's sums and percentiles, computed once", () => {
    const only = row({ good: 3, total: 4, pending: 1, latencyCount: 3, keys: [400, 500], counts: [2, 1] })
    const point = pointOf(60, [only], new Map())
    const [p50, p90, p99] = histogramQuantiles([400, 500], [2, 1]) ?? []
    expect(point).toEqual({
      windowStart: '1970-01-01T00:01:00.000Z',
      good: 3,
      total: 4,
      pending: 1,
      ratio: 0.75,
      p50,
      p90,
      p99,
      status: 'final',
    })
    expect(only.quantiles).toEqual([p50, p90, p99])
  })

  it('of several rows merges their histograms as the engine would', () => {
    const rows = [
      row({ good: 1, total: 2, latencyCount: 2, keys: [-20, 300], counts: [1, 1], provisional: 1 }),
      row({ good: 2, total: 2, latencyCount: 3, keys: [300, 700], counts: [2, 1] }),
    ]
    const point = pointOf(0, rows, new Map())
    const [p50, p90, p99] = histogramQuantiles([-20, 300, 700], [1, 3, 1]) ?? []
    expect(point).toMatchObject({ good: 3, total: 4, ratio: 0.75, p50, p90, p99, status: 'provisional' })
    // The dense array is left clean for the next point.
    expect(pointOf(0, [row({}), row({})], new Map())).toMatchObject({ ratio: null, p50: null, p99: null })
  })

  it('counts open waits to their partition watermark', () => {
    const open = row({ total: 1, latencyCount: 1, keys: [0], counts: [1], open: [[2, 1000]] })
    const point = pointOf(0, [open], new Map([[2, 61_000]]))
    // One wait of 0 ms and one open for 60 s: the p99 is near 60 s.
    expect(point.p50).toBeGreaterThan(25_000)
    expect(point.p99).toBeGreaterThan(59_000)
    expect(point.p99).toBeLessThan(61_000)
  })
})
