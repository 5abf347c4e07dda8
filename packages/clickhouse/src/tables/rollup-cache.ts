import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineQuery } from '../query.ts'
import {
  type CpiPoint,
  currentWatermarks,
  rollupSegments,
  type SeriesQuery,
  wholeMinutes,
} from './cpi-series.ts'
import {
  type Block,
  blockSpan,
  blockStarts,
  blocksFromRows,
  keyOf,
  keyOfBucket,
  type Row,
  type SeriesScope,
  windowRows,
} from './rollup-blocks.ts'
import { pointOf } from './rollup-points.ts'
import { newerParts, ROLLUP_GRAINS } from './rollups.ts'

// The API's series reads served from blocks of rollup rows held in memory (decision 0015). A
// block is every row of one CPI, grain and dimension over 64 buckets; a read takes the blocks
// its range needs, reads the missing ones in one query, and aggregates in memory. The rollup's
// change feed — `_block_number`, inserts in commit order — says which blocks changed: they are
// dropped twice a second, so a read is never staler than that. The same numbers as the SQL path
// (`queryCpiSeries`): the same rows, sums and percentile arithmetic. While the feed cannot be
// read (5 s), reads go to the engine.

const STALE_AFTER_MS = 5000

export interface RollupCache {
  /** The series of a query, or undefined when the rollup has no rows for it (two dimensions). */
  series(query: SeriesQuery): Promise<{ segment: string; points: CpiPoint[] }[] | undefined>
  /** Drops the blocks of rows committed since the last look (the caller runs it on a timer). */
  follow(): Promise<void>
  readonly stats: { hits: number; misses: number; dropped: number; bytes: number }
}

/** A rollup cache of at most `maxBytes` of blocks on this client's query path (see above). */
export function createRollupCache(clickhouse: ClickHouse, options: { maxBytes: number }): RollupCache {
  const cache = new RollupBlockCache(clickhouse, options.maxBytes)
  return { series: (query) => cache.series(query), follow: () => cache.follow(), stats: cache.stats }
}

/** The blocks held (least recently used first), the reads in flight, and where the change feed stands. */
class RollupBlockCache {
  readonly stats = { hits: 0, misses: 0, dropped: 0, bytes: 0 }
  private readonly clickhouse: ClickHouse
  private readonly maxBytes: number
  private readonly blocks = new Map<string, Block>()
  private readonly loading = new Map<string, Promise<Block>>()
  /** When (follow count) a block key was last dropped: a read started before must not store it. */
  private readonly droppedAt = new Map<string, number>()
  private follows = 0
  private followed: bigint | undefined
  /** When the change feed was last read: blocks are served only while that is recent. */
  private followedAt = 0
  /** The follow count each read in flight began at: drop marks a read may need are kept. */
  private readonly reading = new Map<symbol, number>()

  constructor(clickhouse: ClickHouse, maxBytes: number) {
    this.clickhouse = clickhouse
    this.maxBytes = maxBytes
  }

  /** The series of a query from the blocks it needs (see `RollupCache.series`). */
  async series(asked: SeriesQuery): Promise<{ segment: string; points: CpiPoint[] }[] | undefined> {
    // The change feed unread for 5 s (the engine failing): what is held may be stale; the
    // engine answers until the follower catches up.
    if (Date.now() - this.followedAt > STALE_AFTER_MS) {
      this.clear()
      return undefined
    }
    const scope = seriesScope(asked)
    if (!scope) return undefined
    const held = await this.blocksFor(asked.cpi, scope.dimension, scope.segments)
    // Open interactions' waits are measured to the watermarks as they stand now (read only when
    // a row read has any), as the engine's answer would.
    const anyOpen = [...held.values()].some((block) => block.rows.some((row) => row.open.length > 0))
    const watermark = anyOpen ? await currentWatermarks(this.clickhouse) : new Map<number, number>()
    return seriesOf(windowRows(asked, scope, held), watermark)
  }

  /** Drops the blocks the change feed reports changed (see `RollupCache.follow`). */
  async follow(): Promise<void> {
    if (this.followed === undefined) await this.firstLook()
    else await this.dropChanged(this.followed)
  }

  /** Notes where the change feed stands, and empties the cache: blocks read before may predate it. */
  private async firstLook(): Promise<void> {
    const [newest = 0n] = await newestBlockQuery(this.clickhouse, {})
    this.followed = newest
    // Blocks read before the first look may predate rows it will not report: start empty.
    this.clear()
    this.follows++
    this.followedAt = Date.now()
  }

  /** Drops the blocks with rows committed after block number `since`, marking each dropped key. */
  private async dropChanged(since: bigint): Promise<void> {
    const changed = await changedBucketsQuery(this.clickhouse, { since: since.toString() })
    this.follows++
    let followed = since
    for (const row of changed) {
      const key = keyOfBucket(row.cpi, row.grain, row.dimension, row.at)
      this.droppedAt.set(key, this.follows)
      const block = this.blocks.get(key)
      if (block) {
        this.blocks.delete(key)
        this.stats.bytes -= block.bytes
        this.stats.dropped++
      }
      if (row.newest > followed) {
        followed = row.newest
        this.followed = row.newest
      }
    }
    this.followedAt = Date.now()
    // A mark matters to reads that began before it; marks older than every read in flight go.
    const oldest = Math.min(this.follows, ...this.reading.values())
    for (const [key, at] of this.droppedAt) if (at < oldest) this.droppedAt.delete(key)
  }

  /** Drops every block held. */
  private clear(): void {
    this.blocks.clear()
    this.stats.bytes = 0
  }

  /** Holds a block as the most recently used, dropping the least recently used ones beyond `maxBytes`. */
  private store(key: string, block: Block): void {
    const before = this.blocks.get(key)
    if (before) this.stats.bytes -= before.bytes
    this.blocks.delete(key)
    this.blocks.set(key, block)
    this.stats.bytes += block.bytes
    for (const oldest of this.blocks.keys()) {
      if (this.stats.bytes <= this.maxBytes) break
      this.stats.bytes -= this.blocks.get(oldest)?.bytes ?? 0
      this.blocks.delete(oldest)
    }
  }

  /** The blocks a set of segments needs, from memory or read (one query for all missing). */
  private async blocksFor(
    cpi: string,
    dimension: string,
    segments: SeriesScope['segments'],
  ): Promise<Map<string, Block>> {
    const found = new Map<string, Block>()
    const missing: { grain: number; start: number }[] = []
    const waits: Promise<void>[] = []
    for (const { grain, from, to } of segments) {
      for (const start of blockStarts(grain, from, to)) {
        const key = keyOf(cpi, grain, dimension, start)
        const held = this.blocks.get(key)
        if (held) {
          this.stats.hits++
          this.blocks.delete(key)
          this.blocks.set(key, held)
          found.set(key, held)
          continue
        }
        const pending = this.loading.get(key)
        if (pending) {
          waits.push(pending.then((block) => void found.set(key, block)))
          continue
        }
        this.stats.misses++
        missing.push({ grain, start })
      }
    }
    if (missing.length > 0) await this.readMissing(cpi, dimension, missing, found)
    await Promise.all(waits)
    return found
  }

  /** Reads missing blocks into `found` in one query; reads of the same blocks meanwhile wait for it. */
  private async readMissing(
    cpi: string,
    dimension: string,
    missing: { grain: number; start: number }[],
    found: Map<string, Block>,
  ): Promise<void> {
    const read = this.load(cpi, dimension, missing)
    for (const { grain, start } of missing) {
      const key = keyOf(cpi, grain, dimension, start)
      const one = read.then((loaded) => loaded.get(key) as Block)
      this.loading.set(key, one)
      one.finally(() => this.loading.delete(key)).catch(() => undefined)
    }
    for (const [key, block] of await read) found.set(key, block)
  }

  /** Reads the missing blocks of one CPI and dimension in one query, and holds those still current. */
  private async load(
    cpi: string,
    dimension: string,
    wanted: { grain: number; start: number }[],
  ): Promise<Map<string, Block>> {
    const began = this.follows
    const id = Symbol('read')
    this.reading.set(id, began)
    try {
      const loaded = blocksFromRows(
        cpi,
        dimension,
        wanted,
        await blockRowsQuery(this.clickhouse, { cpi, dimension, wanted }),
      )
      // Kept only when the change feed was already followed when the read began, and said nothing
      // of the block since: otherwise a row committed after the read may never be reported.
      for (const [key, block] of loaded)
        if (began > 0 && (this.droppedAt.get(key) ?? -1) < began) this.store(key, block)
      return loaded
    } finally {
      this.reading.delete(id)
    }
  }
}

/**
 * What a query takes from the rollup: one dimension (the one filtered on, or grouped by, or
 * `all`) and its range in rollup segments of the grains that fall within its windows. Undefined
 * for filters on two dimensions, or a filter on one dimension grouped by another.
 */
function seriesScope(asked: SeriesQuery): SeriesScope | undefined {
  const where = Object.entries(asked.where ?? {})
  const [first] = where
  if (where.length > 1 || (first && asked.by !== undefined && asked.by !== first[0])) return undefined
  const { from, to } = wholeMinutes(asked.from, asked.to)
  const grains = ROLLUP_GRAINS.filter(
    (grain) => asked.stepSeconds === undefined || asked.stepSeconds % grain === 0,
  )
  return {
    dimension: first ? first[0] : (asked.by ?? 'all'),
    only: first?.[1],
    from,
    segments: rollupSegments(from, to, grains),
  }
}

/** The series of the windowed rows: segments in order, each with its points in time order. */
function seriesOf(
  windows: Map<string, Map<number, Row[]>>,
  watermark: ReadonlyMap<number, number>,
): { segment: string; points: CpiPoint[] }[] {
  return [...windows]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([segment, byWindow]) => ({
      segment,
      points: [...byWindow]
        .sort(([a], [b]) => a - b)
        .map(([window, rows]) => pointOf(window, rows, watermark)),
    }))
}

const blockRowsQuery = defineQuery({
  name: 'reading rollup blocks of a CPI',
  params: z.object({
    cpi: z.string(),
    dimension: z.string(),
    /** The blocks: each grain (seconds) with its first bucket (epoch seconds). */
    wanted: z.array(z.object({ grain: z.number().int().positive(), start: z.number().int() })),
  }),
  sql: (database, { wanted }) => {
    const ranges = wanted
      .map(
        ({ grain, start }) =>
          `(grain = ${grain} AND bucket >= toDateTime(${start}, 'UTC') AND bucket < toDateTime(${start + blockSpan(grain)}, 'UTC'))`,
      )
      .join(' OR ')
    return `SELECT grain, toUnixTimestamp(bucket) AS at, value, good, total, pending, provisional, latency_count,
                     mapKeys(latency_histogram) AS histogram_keys, mapValues(latency_histogram) AS histogram_counts,
                     open_since
              FROM ${database}.cpi_rollup FINAL
              WHERE cpi = {cpi:String} AND dimension = {dimension:String} AND (${ranges})`
  },
  bind: ({ cpi, dimension }) => ({ cpi, dimension }),
  // As `blocksFromRows` takes them.
  row: (row) => row,
  what: ({ cpi }) => `reading rollup blocks of CPI ${cpi}`,
})

const FOLLOWING = 'following the rollup'

const newestBlockQuery = defineQuery({
  name: 'reading the rollup change feed start',
  params: z.object({}),
  sql: (database) => `SELECT toString(max(_block_number)) AS b FROM ${database}.cpi_rollup`,
  row: (row) => BigInt(row.b as string),
  what: () => FOLLOWING,
})

const changedBucketsQuery = defineQuery({
  name: 'reading the rollup change feed',
  params: z.object({ since: z.string().regex(/^\d+$/) }),
  sql: (
    database,
  ) => `SELECT cpi, grain, dimension, toUnixTimestamp(bucket) AS at, toString(max(_block_number)) AS newest
            FROM ${database}.cpi_rollup
            WHERE ${newerParts('{since:UInt64}')} AND _block_number > {since:UInt64}
            GROUP BY cpi, grain, dimension, at`,
  row: (row) => ({
    cpi: row.cpi as string,
    grain: Number(row.grain),
    dimension: row.dimension as string,
    at: Number(row.at),
    newest: BigInt(row.newest as string),
  }),
  what: () => FOLLOWING,
})
