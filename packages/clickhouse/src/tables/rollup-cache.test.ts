import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ClickHouse } from '../client.ts'
import { createRollupCache } from './rollup-cache.ts'
import { histogramQuantiles } from './rollups.ts'

// The cache against a fake query path: the rollup's rows, its change feed and the watermarks
// are plain arrays; each query is recorded, so a test sees which reads reach the engine.

interface FakeRow {
  cpi: string
  grain: number
  dimension: string
  /** Epoch seconds of the bucket. */
  at: number
  value: string
  good: number
  total: number
  pending?: number
  provisional?: number
  latency?: [number[], number[]]
  open?: [number, number][]
}

function fakeClickHouse(options: { fail?: RegExp } = {}) {
  const rows: FakeRow[] = []
  const changes: { cpi: string; grain: number; dimension: string; at: number; newest: string }[] = []
  const watermarks: { partition: number; current: number }[] = []
  const queries: string[] = []
  const answer = (value: unknown[]) => ({ json: async () => value })
  const query = async ({
    query,
    query_params,
  }: {
    query: string
    query_params?: Record<string, unknown>
  }) => {
    queries.push(query)
    if (options.fail?.test(query)) throw new Error('engine away')
    if (query.includes('GROUP BY cpi, grain, dimension, at'))
      return answer(
        changes.splice(0).filter((change) => BigInt(change.newest) > BigInt(String(query_params?.since))),
      )
    if (query.includes('max(_block_number)')) return answer([{ b: '10' }])
    if (query.includes('watermarks')) return answer(watermarks)
    if (query.includes('cpi_rollup FINAL'))
      return answer(
        rows
          .filter((row) => row.cpi === query_params?.cpi && row.dimension === query_params?.dimension)
          .map((row) => ({
            grain: row.grain,
            at: row.at,
            value: row.value,
            good: row.good,
            total: row.total,
            pending: row.pending ?? 0,
            provisional: row.provisional ?? 0,
            latency_count: row.latency ? row.latency[1].reduce((sum, count) => sum + count, 0) : 0,
            histogram_keys: row.latency?.[0] ?? [],
            histogram_counts: (row.latency?.[1] ?? []).map(String),
            open_since: (row.open ?? []).map(([partition, since]) => [partition, String(since)]),
          })),
      )
    throw new Error(`unexpected query ${query}`)
  }
  const clickhouse = { database: 'db', reader: { query } } as unknown as ClickHouse
  return { clickhouse, rows, changes, watermarks, queries }
}

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0)
const minute = (n: number) => T0 / 1000 + n * 60
const reads = (queries: string[]) => queries.filter((query) => query.includes('cpi_rollup FINAL')).length

describe('the rollup cache', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('answers nothing until the change feed was read, and nothing for two dimensions at once', async () => {
    const fake = fakeClickHouse()
    const cache = createRollupCache(fake.clickhouse, { maxBytes: 1_000_000 })
    const query = { cpi: 'fast_quote', from: T0, to: T0 + 600_000 }
    expect(await cache.series(query)).toBeUndefined()
    await cache.follow()
    expect(await cache.series({ ...query, where: { product: 'a', region: 'b' } })).toBeUndefined()
    expect(await cache.series({ ...query, where: { product: 'a' }, by: 'region' })).toBeUndefined()
    expect(reads(fake.queries)).toBe(0)
  })

  it('sums minute rows into windows and percentiles, and serves the second read from memory', async () => {
    const fake = fakeClickHouse()
    fake.rows.push(
      { cpi: 'fast_quote', grain: 60, dimension: 'all', at: minute(0), value: '', good: 3, total: 4 },
      {
        cpi: 'fast_quote',
        grain: 60,
        dimension: 'all',
        at: minute(1),
        value: '',
        good: 1,
        total: 2,
        pending: 1,
        latency: [
          [500, 700],
          [3, 1],
        ],
      },
      {
        cpi: 'fast_quote',
        grain: 60,
        dimension: 'all',
        at: minute(7),
        value: '',
        good: 0,
        total: 1,
        provisional: 1,
        latency: [[300], [1]],
      },
      { cpi: 'other', grain: 60, dimension: 'all', at: minute(0), value: '', good: 9, total: 9 },
    )
    const cache = createRollupCache(fake.clickhouse, { maxBytes: 1_000_000 })
    await cache.follow()
    // Two-minute windows: only minute rows fall within one.
    const query = { cpi: 'fast_quote', from: T0, to: T0 + 10 * 60_000, stepSeconds: 120 }
    const first = await cache.series(query)
    expect(first).toEqual([
      {
        segment: 'all',
        points: [
          {
            windowStart: new Date(T0).toISOString(),
            good: 4,
            total: 6,
            pending: 1,
            ratio: 4 / 6,
            p50: expect.any(Number),
            p90: expect.any(Number),
            p99: expect.any(Number),
            status: 'final',
          },
          {
            windowStart: new Date(T0 + 360_000).toISOString(),
            good: 0,
            total: 1,
            pending: 0,
            ratio: 0,
            p50: expect.any(Number),
            p90: expect.any(Number),
            p99: expect.any(Number),
            status: 'provisional',
          },
        ],
      },
    ])
    // Merged in memory, the same percentiles as the engine's arithmetic on the merged histogram.
    const point = first?.[0]?.points[0]
    expect([point?.p50, point?.p90, point?.p99]).toEqual(histogramQuantiles([500, 700], [3, 1]))
    expect(first?.[0]?.points[1]?.p50).toBe(histogramQuantiles([300], [1])?.[0])
    expect(cache.stats.misses).toBeGreaterThan(0)
    expect(cache.stats.hits).toBe(0)
    expect(cache.stats.bytes).toBeGreaterThan(0)
    const readsBefore = reads(fake.queries)
    expect(await cache.series(query)).toEqual(first)
    expect(reads(fake.queries)).toBe(readsBefore)
    expect(cache.stats.hits).toBeGreaterThan(0)
  })

  it('segments by a dimension, filters on one value, and measures open waits to the watermarks', async () => {
    const fake = fakeClickHouse()
    fake.watermarks.push({ partition: 0, current: T0 + 5000 })
    fake.rows.push(
      { cpi: 'c', grain: 60, dimension: 'region', at: minute(0), value: 'north', good: 1, total: 1 },
      { cpi: 'c', grain: 60, dimension: 'region', at: minute(1), value: 'south', good: 0, total: 2 },
      {
        cpi: 'c',
        grain: 60,
        dimension: 'region',
        at: minute(2),
        value: 'north',
        good: 1,
        total: 2,
        latency: [[50], [1]],
        open: [[0, T0 + 1000]],
      },
    )
    const cache = createRollupCache(fake.clickhouse, { maxBytes: 1_000_000 })
    await cache.follow()
    const by = await cache.series({ cpi: 'c', from: T0, to: T0 + 4 * 60_000, by: 'region' })
    expect(by?.map((series) => series.segment)).toEqual(['north', 'south'])
    expect(by?.[0]?.points).toHaveLength(1)
    expect(by?.[0]?.points[0]).toMatchObject({ good: 2, total: 3, windowStart: new Date(T0).toISOString() })
    // One latency of ~50 ms and one open wait of 4 s: the p99 is near the open wait.
    expect(by?.[0]?.points[0]?.p99).toBeGreaterThan(3000)
    expect(fake.queries.some((query) => query.includes('watermarks'))).toBe(true)
    const only = await cache.series({ cpi: 'c', from: T0, to: T0 + 4 * 60_000, where: { region: 'south' } })
    expect(only).toEqual([
      { segment: 'all', points: [expect.objectContaining({ good: 0, total: 2, ratio: 0, p50: null })] },
    ])
  })

  it('drops the blocks the change feed names, and reads them again', async () => {
    const fake = fakeClickHouse()
    fake.rows.push({ cpi: 'c', grain: 60, dimension: 'all', at: minute(0), value: '', good: 1, total: 1 })
    const cache = createRollupCache(fake.clickhouse, { maxBytes: 1_000_000 })
    await cache.follow()
    const query = { cpi: 'c', from: T0, to: T0 + 60_000 }
    expect((await cache.series(query))?.[0]?.points[0]?.total).toBe(1)
    fake.rows.push({ cpi: 'c', grain: 60, dimension: 'all', at: minute(0), value: '', good: 0, total: 1 })
    fake.changes.push({ cpi: 'c', grain: 60, dimension: 'all', at: minute(0), newest: '11' })
    await cache.follow()
    expect(cache.stats.dropped).toBe(1)
    expect(cache.stats.bytes).toBe(0)
    expect((await cache.series(query))?.[0]?.points[0]?.total).toBe(2)
    // A block changed in the same look is read again; the follower asks from the newest block on.
    await cache.follow()
    expect(fake.queries.at(-1)).toContain('_block_number > {since:UInt64}')
  })

  it('keeps within its bytes, dropping the least recently used blocks first', async () => {
    const fake = fakeClickHouse()
    for (let index = 0; index < 4; index++)
      fake.rows.push({
        cpi: `c${index}`,
        grain: 60,
        dimension: 'all',
        at: minute(0),
        value: '',
        good: 1,
        total: 1,
      })
    const cache = createRollupCache(fake.clickhouse, { maxBytes: 1000 })
    await cache.follow()
    for (let index = 0; index < 4; index++)
      await cache.series({ cpi: `c${index}`, from: T0, to: T0 + 60_000 })
    expect(cache.stats.bytes).toBeLessThanOrEqual(1000)
    expect(cache.stats.bytes).toBeGreaterThan(0)
    const readsBefore = reads(fake.queries)
    await cache.series({ cpi: 'c3', from: T0, to: T0 + 60_000 })
    expect(reads(fake.queries)).toBe(readsBefore)
    await cache.series({ cpi: 'c0', from: T0, to: T0 + 60_000 })
    expect(reads(fake.queries)).toBe(readsBefore + 1)
  })

  it('shares one read between concurrent reads of the same block', async () => {
    const fake = fakeClickHouse()
    fake.rows.push({ cpi: 'c', grain: 60, dimension: 'all', at: minute(0), value: '', good: 1, total: 1 })
    const cache = createRollupCache(fake.clickhouse, { maxBytes: 1_000_000 })
    await cache.follow()
    const query = { cpi: 'c', from: T0, to: T0 + 60_000 }
    const [a, b] = await Promise.all([cache.series(query), cache.series(query)])
    expect(a).toEqual(b)
    expect(reads(fake.queries)).toBe(1)
  })

  it('stops answering (and empties) when the change feed was not read for 5 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0 + 3_600_000)
    const fake = fakeClickHouse()
    fake.rows.push({ cpi: 'c', grain: 60, dimension: 'all', at: minute(0), value: '', good: 1, total: 1 })
    const cache = createRollupCache(fake.clickhouse, { maxBytes: 1_000_000 })
    await cache.follow()
    const query = { cpi: 'c', from: T0, to: T0 + 60_000 }
    expect(await cache.series(query)).toHaveLength(1)
    vi.setSystemTime(T0 + 3_600_000 + 5001)
    expect(await cache.series(query)).toBeUndefined()
    expect(cache.stats.bytes).toBe(0)
  })

  it('names what failed when the engine fails', async () => {
    const fake = fakeClickHouse({ fail: /cpi_rollup FINAL/ })
    const cache = createRollupCache(fake.clickhouse, { maxBytes: 1_000_000 })
    await cache.follow()
    await expect(cache.series({ cpi: 'c', from: T0, to: T0 + 60_000 })).rejects.toThrow(
      /reading rollup blocks of CPI c/,
    )
    const down = createRollupCache(fakeClickHouse({ fail: /max\(_block_number\)/ }).clickhouse, {
      maxBytes: 1_000_000,
    })
    await expect(down.follow()).rejects.toThrow(/following the rollup/)
  })
})
