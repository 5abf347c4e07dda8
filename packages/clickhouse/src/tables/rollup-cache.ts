import type { ClickHouse } from '../client.ts'
import { toClickHouseError } from '../errors.ts'
import {
  type CpiPoint,
  currentWatermarks,
  rollupSegments,
  type SeriesQuery,
  wholeMinutes,
} from './cpi-series.ts'
import { histogramQuantiles, histogramValue, newerParts, ROLLUP_GRAINS } from './rollups.ts'

// The API's series reads served from blocks of rollup rows held in memory (decision 0015). A
// block is every row of one CPI, grain and dimension over 64 buckets; a read takes the blocks
// its range needs, reads the missing ones in one query, and aggregates in memory. The rollup's
// change feed — `_block_number`, inserts in commit order — says which blocks changed: they are
// dropped twice a second, so a read is never staler than that. The same numbers as the SQL path
// (`queryCpiSeries`): the same rows, sums and percentile arithmetic. While the feed cannot be
// read (5 s), reads go to the engine.

const BUCKETS_PER_BLOCK = 64
const STALE_AFTER_MS = 5000

interface Row {
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

interface Block {
  rows: Row[]
  bytes: number
}

const blockSpan = (grain: number) => grain * BUCKETS_PER_BLOCK
const keyOf = (cpi: string, grain: number, dimension: string, start: number) =>
  `${cpi}\u0000${grain}\u0000${dimension}\u0000${start}`

/** The key the rollup gives a latency (the SQL of `histogramKey`, in TypeScript). */
const histogramKey = (ms: number) =>
  ms === 0 ? 0 : Math.sign(ms) * (1 + Math.round(Math.log(Math.abs(ms)) / Math.log(1.01)))

export interface RollupCache {
  /** The series of a query, or undefined when the rollup has no rows for it (two dimensions). */
  series(query: SeriesQuery): Promise<{ segment: string; points: CpiPoint[] }[] | undefined>
  /** Drops the blocks of rows committed since the last look (the caller runs it on a timer). */
  follow(): Promise<void>
  readonly stats: { hits: number; misses: number; dropped: number; bytes: number }
}

export function createRollupCache(clickhouse: ClickHouse, options: { maxBytes: number }): RollupCache {
  const blocks = new Map<string, Block>()
  const loading = new Map<string, Promise<Block>>()
  /** When (follow count) a block key was last dropped: a read started before must not store it. */
  const droppedAt = new Map<string, number>()
  let follows = 0
  let followed: bigint | undefined
  /** When the change feed was last read: blocks are served only while that is recent. */
  let followedAt = 0
  /** The follow count each read in flight began at: drop marks a read may need are kept. */
  const reading = new Map<symbol, number>()
  const stats = { hits: 0, misses: 0, dropped: 0, bytes: 0 }

  const store = (key: string, block: Block) => {
    const before = blocks.get(key)
    if (before) stats.bytes -= before.bytes
    blocks.delete(key)
    blocks.set(key, block)
    stats.bytes += block.bytes
    for (const oldest of blocks.keys()) {
      if (stats.bytes <= options.maxBytes) break
      stats.bytes -= blocks.get(oldest)?.bytes ?? 0
      blocks.delete(oldest)
    }
  }

  /** Reads the missing blocks of one CPI and dimension in one query. */
  async function load(cpi: string, dimension: string, wanted: { grain: number; start: number }[]) {
    const began = follows
    const id = Symbol('read')
    reading.set(id, began)
    try {
      return await loadFrom(cpi, dimension, wanted, began)
    } finally {
      reading.delete(id)
    }
  }

  async function loadFrom(
    cpi: string,
    dimension: string,
    wanted: { grain: number; start: number }[],
    began: number,
  ) {
    const ranges = wanted
      .map(
        ({ grain, start }) =>
          `(grain = ${grain} AND bucket >= toDateTime(${start}, 'UTC') AND bucket < toDateTime(${start + blockSpan(grain)}, 'UTC'))`,
      )
      .join(' OR ')
    let rows: Record<string, unknown>[]
    try {
      const result = await clickhouse.reader.query({
        query: `SELECT grain, toUnixTimestamp(bucket) AS at, value, good, total, pending, provisional, latency_count,
                       mapKeys(latency_histogram) AS histogram_keys, mapValues(latency_histogram) AS histogram_counts,
                       open_since
                FROM ${clickhouse.database}.cpi_rollup FINAL
                WHERE cpi = {cpi:String} AND dimension = {dimension:String} AND (${ranges})`,
        query_params: { cpi, dimension },
        format: 'JSONEachRow',
      })
      rows = await result.json<Record<string, unknown>>()
    } catch (error) {
      throw toClickHouseError(error, `reading rollup blocks of CPI ${cpi}`)
    }
    const loaded = new Map<string, Block>(
      wanted.map(({ grain, start }) => [keyOf(cpi, grain, dimension, start), { rows: [], bytes: 200 }]),
    )
    for (const raw of rows) {
      const grain = Number(raw.grain)
      const bucket = Number(raw.at)
      const block = loaded.get(keyOf(cpi, grain, dimension, bucket - (bucket % blockSpan(grain))))
      if (!block) continue
      const keys = (raw.histogram_keys as number[]).map(Number)
      const row: Row = {
        bucket,
        value: String(raw.value),
        good: Number(raw.good),
        total: Number(raw.total),
        pending: Number(raw.pending),
        provisional: Number(raw.provisional),
        latencyCount: Number(raw.latency_count),
        keys,
        counts: (raw.histogram_counts as (number | string)[]).map(Number),
        open: (raw.open_since as [number, number | string][]).map(([partition, at]) => [
          Number(partition),
          Number(at),
        ]),
      }
      block.rows.push(row)
      block.bytes += 160 + row.value.length * 2 + keys.length * 24 + row.open.length * 48
    }
    // Kept only when the change feed was already followed when the read began, and said nothing
    // of the block since: otherwise a row committed after the read may never be reported.
    for (const [key, block] of loaded) if (began > 0 && (droppedAt.get(key) ?? -1) < began) store(key, block)
    return loaded
  }

  /** The blocks a set of segments needs, from memory or read (one query for all missing). */
  async function blocksFor(
    cpi: string,
    dimension: string,
    segments: { grain: number; from: number; to: number }[],
  ) {
    const found = new Map<string, Block>()
    const missing: { grain: number; start: number }[] = []
    const waits: Promise<void>[] = []
    for (const { grain, from, to } of segments) {
      const span = blockSpan(grain)
      for (let start = from / 1000 - ((from / 1000) % span); start < to / 1000; start += span) {
        const key = keyOf(cpi, grain, dimension, start)
        const held = blocks.get(key)
        if (held) {
          stats.hits++
          blocks.delete(key)
          blocks.set(key, held)
          found.set(key, held)
          continue
        }
        const pending = loading.get(key)
        if (pending) {
          waits.push(pending.then((block) => void found.set(key, block)))
          continue
        }
        stats.misses++
        missing.push({ grain, start })
      }
    }
    if (missing.length > 0) {
      const read = load(cpi, dimension, missing)
      for (const { grain, start } of missing) {
        const key = keyOf(cpi, grain, dimension, start)
        const one = read.then((loaded) => loaded.get(key) as Block)
        loading.set(key, one)
        one.finally(() => loading.delete(key)).catch(() => undefined)
      }
      for (const [key, block] of await read) found.set(key, block)
    }
    await Promise.all(waits)
    return found
  }

  async function series(asked: SeriesQuery) {
    // The change feed unread for 5 s (the engine failing): what is held may be stale; the
    // engine answers until the follower catches up.
    if (Date.now() - followedAt > STALE_AFTER_MS) {
      blocks.clear()
      stats.bytes = 0
      return undefined
    }
    const where = Object.entries(asked.where ?? {})
    const [first] = where
    if (where.length > 1 || (first && asked.by !== undefined && asked.by !== first[0])) return undefined
    const dimension = first ? first[0] : (asked.by ?? 'all')
    const only = first?.[1]
    const { from, to } = wholeMinutes(asked.from, asked.to)
    const grains = ROLLUP_GRAINS.filter(
      (grain) => asked.stepSeconds === undefined || asked.stepSeconds % grain === 0,
    )
    const segments = rollupSegments(from, to, grains)
    const held = await blocksFor(asked.cpi, dimension, segments)
    // Open interactions' waits are measured to the watermarks as they stand now (read only when
    // a row read has any), as the engine's answer would.
    const anyOpen = [...held.values()].some((block) => block.rows.some((row) => row.open.length > 0))
    const watermark = anyOpen ? await currentWatermarks(clickhouse) : new Map<number, number>()
    const windows = new Map<string, Map<number, Row[]>>()
    for (const { grain, from: segmentFrom, to: segmentTo } of segments) {
      const span = blockSpan(grain)
      for (
        let start = segmentFrom / 1000 - ((segmentFrom / 1000) % span);
        start < segmentTo / 1000;
        start += span
      ) {
        for (const row of held.get(keyOf(asked.cpi, grain, dimension, start))?.rows ?? []) {
          if (row.bucket < segmentFrom / 1000 || row.bucket >= segmentTo / 1000) continue
          if (only !== undefined && row.value !== only) continue
          const segment = asked.by ? row.value : 'all'
          const window = asked.stepSeconds ? row.bucket - (row.bucket % asked.stepSeconds) : from / 1000
          const bySegment = windows.get(segment) ?? new Map<number, Row[]>()
          windows.set(segment, bySegment)
          const rows = bySegment.get(window) ?? []
          bySegment.set(window, rows)
          rows.push(row)
        }
      }
    }
    return [...windows]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([segment, byWindow]) => ({
        segment,
        points: [...byWindow]
          .sort(([a], [b]) => a - b)
          .map(([window, rows]) => pointOf(window, rows, watermark)),
      }))
  }

  async function follow() {
    try {
      if (followed === undefined) {
        const result = await clickhouse.reader.query({
          query: `SELECT toString(max(_block_number)) AS b FROM ${clickhouse.database}.cpi_rollup`,
          format: 'JSONEachRow',
        })
        followed = BigInt((await result.json<{ b: string }>())[0]?.b ?? '0')
        // Blocks read before the first look may predate rows it will not report: start empty.
        blocks.clear()
        stats.bytes = 0
        follows++
        followedAt = Date.now()
        return
      }
      const result = await clickhouse.reader.query({
        query: `SELECT cpi, grain, dimension, toUnixTimestamp(bucket) AS at, toString(max(_block_number)) AS newest
                FROM ${clickhouse.database}.cpi_rollup
                WHERE ${newerParts('{since:UInt64}')} AND _block_number > {since:UInt64}
                GROUP BY cpi, grain, dimension, at`,
        query_params: { since: followed.toString() },
        format: 'JSONEachRow',
      })
      const changed = await result.json<{
        cpi: string
        grain: number
        dimension: string
        at: number
        newest: string
      }>()
      follows++
      for (const row of changed) {
        const grain = Number(row.grain)
        const at = Number(row.at)
        const key = keyOf(row.cpi, grain, row.dimension, at - (at % blockSpan(grain)))
        droppedAt.set(key, follows)
        const block = blocks.get(key)
        if (block) {
          blocks.delete(key)
          stats.bytes -= block.bytes
          stats.dropped++
        }
        if (BigInt(row.newest) > followed) followed = BigInt(row.newest)
      }
      followedAt = Date.now()
      // A mark matters to reads that began before it; marks older than every read in flight go.
      const oldest = Math.min(follows, ...reading.values())
      for (const [key, at] of droppedAt) if (at < oldest) droppedAt.delete(key)
    } catch (error) {
      throw toClickHouseError(error, 'following the rollup')
    }
  }

  return { series, follow, stats }
}

/** Histogram keys of Int64 latencies stay within ±(1 + ln(2^63) / ln 1.01) ≈ ±4,390: a dense array covers them. */
const KEY_OFFSET = 4608
const scratch = new Float64Array(2 * KEY_OFFSET)

/**
 * One point from the rows of its window: sums, and percentiles from the rows' histograms and
 * open waits merged in a dense array (the same ranks and values as `histogramQuantiles`).
 */
function pointOf(window: number, rows: readonly Row[], watermark: ReadonlyMap<number, number>): CpiPoint {
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
