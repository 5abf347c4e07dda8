import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineCommand, defineQuery } from '../query.ts'
import {
  type PartitionRollupRow,
  rebuildPartitionRollups,
  refreshPartitionRollups,
  writePartitionRollups,
} from './partition-rollups.ts'

// The rollup `cpi_rollup` (schemas/clickhouse/migrations/0008_outcome_rollups.sql): one row per
// CPI, grain (minute, 5 minutes, hour), bucket and (dimension, value), written by the processor
// — the minutes it changed with each write of outcomes, the coarser buckets above them at each
// sweep — and read by every CPI query instead of aggregating `outcomes` (decision 0015).

export const MINUTE_MS = 60_000

/** A (CPI, cohort minute) whose rollup rows must be written again. */
export interface RollupMinute {
  cpi: string
  /** The minute's start, ms since the epoch. */
  minute: number
}

/** The distinct (CPI, minute) of outcome rows and tombstones, by their cohort time (ISO text). */
export function minutesOf(rows: readonly { cpi: string; cohort_at: string }[]): RollupMinute[] {
  const seen = new Map<string, RollupMinute>()
  for (const row of rows) {
    const at = Date.parse(row.cohort_at)
    const minute = at - (((at % MINUTE_MS) + MINUTE_MS) % MINUTE_MS)
    seen.set(`${row.cpi}\u0000${minute}`, { cpi: row.cpi, minute })
  }
  return [...seen.values()]
}

/** The grains of the rollup, finest first (seconds): each coarser one is written from the one before. */
export const ROLLUP_GRAINS = [60, 300, 3600] as const

/** Touched buckets of one grain as time ranges (epoch seconds), adjacent ones merged. */
function bucketRanges(buckets: readonly number[], grain: number): [number, number][] {
  const sorted = [...new Set(buckets)].sort((a, b) => a - b)
  const ranges: [number, number][] = []
  for (const start of sorted) {
    const last = ranges.at(-1)
    if (last && last[1] === start) last[1] = start + grain
    else ranges.push([start, start + grain])
  }
  // Many scattered buckets (a backlog): one range over all of them reads more but stays one condition.
  if (ranges.length > 64) return [[ranges[0]?.[0] as number, ranges.at(-1)?.[1] as number]]
  return ranges
}

/** What a refresh writes: one grain's buckets, the touched ones (`cpis` × `buckets`, pairwise) or all. */
const refreshScope = z.object({
  grain: z.number().int().positive(),
  all: z.boolean(),
  cpis: z.array(z.string()),
  /** Epoch seconds. */
  buckets: z.array(z.number().int()),
})

/** A refresh's failure: a rebuild's, or one of `count` touched buckets. */
const refreshing = ({ all, grain, count }: { all: boolean; grain: number; count: number }) =>
  all ? 'rebuilding the rollup' : `refreshing the rollup of ${count} buckets of ${grain} s`

const engineClockQuery = defineQuery({
  name: 'reading the engine clock',
  connection: 'writer',
  // What it is read for names a failure, as the refresh's own failure does.
  params: z.object({ grain: z.number(), all: z.boolean(), count: z.number() }),
  sql: () => 'SELECT toString(toUnixTimestamp64Nano(now64(9))) AS now',
  bind: () => ({}),
  row: (row) => String(row.now),
  what: refreshing,
})

/** The last version this process gave with the embedded engine: versions only grow. */
let lastLocalVersion = 0n

/**
 * The engine's clock (ns, as text): the version of the rows a write is about to write. The
 * embedded engine runs in this process on this machine's clock, and no other process opens its
 * data: this process's own clock, never giving the same value twice, serves without a query.
 * A server is asked: several processes write to it, on clocks of their own.
 */
export async function engineClock(
  clickhouse: ClickHouse,
  scope = { grain: 60, all: false, count: 0 },
): Promise<string> {
  if (clickhouse.kind === 'embedded') {
    const now = BigInt(Date.now()) * 1_000_000n
    lastLocalVersion = now > lastLocalVersion ? now : lastLocalVersion + 1n
    return lastLocalVersion.toString()
  }
  const [now = '0'] = await engineClockQuery(clickhouse, scope)
  return now
}

/**
 * The source of one grain's rows (minutes: the partitions' rows; coarser: the grain below) and the rows of
 * that grain already there, for a refresh's scope.
 */
function refreshSources(
  db: string,
  scope: z.output<typeof refreshScope>,
): { source: string; current: string } {
  const { grain, all } = scope
  const finer = ROLLUP_GRAINS[ROLLUP_GRAINS.indexOf(grain as (typeof ROLLUP_GRAINS)[number]) - 1]
  const set = `(SELECT tupleElement(t, 1), toDateTime(tupleElement(t, 2), 'UTC')
                FROM (SELECT arrayJoin(arrayZip({cpis:Array(String)}, {buckets:Array(UInt32)})) AS t))`
  const coarse = `toStartOfInterval(bucket, toIntervalSecond(${grain}), 'UTC')`
  // Literal ranges (computed integers) let the engine skip to the buckets in the sorting key.
  const within = all
    ? '1'
    : bucketRanges(scope.buckets, grain)
        .map(([from, to]) => `(bucket >= toDateTime(${from}, 'UTC') AND bucket < toDateTime(${to}, 'UTC'))`)
        .join(' OR ')
  const these = (bucket: string) => (all ? '1' : `(cpi, ${bucket}) IN ${set}`)
  // Minutes: the sum of the partitions' rows (`partition-rollups.ts`).
  const source =
    finer === undefined
      ? `SELECT cpi, bucket AS b, dimension, value, good, total, pending, provisional, latency_count,
                latency_histogram, open_since, definition_version
         FROM ${db}.cpi_rollup_partition FINAL WHERE ${these('bucket')}`
      : `SELECT cpi, ${coarse} AS b, dimension, value, good, total, pending, provisional, latency_count,
                latency_histogram, open_since, definition_version
         FROM ${db}.cpi_rollup FINAL WHERE grain = ${finer} AND (${within}) AND ${these(coarse)}`
  const current = `FROM ${db}.cpi_rollup FINAL WHERE grain = ${grain} AND (${within}) AND ${these('bucket')}`
  return { source, current }
}

const refreshCommand = defineCommand({
  name: 'refreshing the rollup',
  params: refreshScope.extend({
    /** The engine's clock before the write (ns), the rows' version. */
    version: z.string().regex(/^\d+$/),
    /** The newest block the write follows (coarsest grain), else 0. */
    followed: z.string().regex(/^\d+$/),
  }),
  sql: (db, params) => {
    const { source, current } = refreshSources(db, params)
    // Minutes need no zeros from the rows there: a (dimension, value) no partition counts any
    // more has its partitions' rows written as zeros, and sums to zeros.
    const zeros =
      params.grain === 60
        ? ''
        : `UNION ALL
           SELECT cpi, bucket AS b, dimension, value, toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0),
                  CAST(map(), 'Map(Int16, UInt64)'), CAST([], 'Array(Tuple(UInt32, Int64))'), toUInt32(0)
           ${current}`
    return `INSERT INTO ${db}.cpi_rollup
            SELECT cpi, ${params.grain}, b, dimension, value, sum(good), sum(total), sum(pending), sum(provisional),
                   sum(latency_count), sumMap(latency_histogram), groupArrayArray(open_since),
                   max(definition_version), ${params.version}, ${params.followed}
            FROM
            (
                ${source}
                ${zeros}
            )
            GROUP BY cpi, b, dimension, value`
  },
  bind: ({ all, cpis, buckets }) => (all ? {} : { cpis, buckets }),
  what: ({ all, grain, buckets }) => refreshing({ all, grain, count: buckets.length }),
})

/**
 * Writes one grain's rows for the touched buckets (or all of them) from the grain below
 * (minutes: from `outcomes`), with a row of zeros for a (dimension, value) a bucket had and no
 * longer has. Versioned by the engine's clock, read just before: the write's snapshot of the
 * table is taken after it, so of two writes of a row the one with the higher version saw
 * everything the other saw.
 */
async function refreshGrain(
  clickhouse: ClickHouse,
  grain: number,
  touched: readonly { cpi: string; bucket: number }[] | 'all',
  followed: bigint,
): Promise<void> {
  const scope =
    touched === 'all'
      ? { grain, all: true, cpis: [], buckets: [] }
      : {
          grain,
          all: false,
          cpis: touched.map((entry) => entry.cpi),
          buckets: touched.map((entry) => entry.bucket),
        }
  const version = await engineClock(clickhouse, { ...scope, count: scope.buckets.length })
  await refreshCommand(clickhouse, { ...scope, version, followed: followed.toString() })
}

/** Buckets of one grain, each (cpi, bucket start in epoch seconds) once. */
function bucketsOf(minutes: readonly RollupMinute[], grain: number): { cpi: string; bucket: number }[] {
  const buckets = new Map<string, { cpi: string; bucket: number }>()
  for (const { cpi, minute } of minutes) {
    const bucket = Math.floor(minute / 1000 / grain) * grain
    buckets.set(`${cpi}\u0000${bucket}`, { cpi, bucket })
  }
  return [...buckets.values()]
}

/**
 * Writes one grain's buckets for these minutes, 2,000 per statement (a server's HTTP field
 * limit). The last statement records `followed`, the others `before`: a restart resumes from
 * what was written whole.
 */
async function refreshBuckets(
  clickhouse: ClickHouse,
  grain: number,
  minutes: readonly RollupMinute[],
  marks: { followed: bigint; before: bigint } = { followed: 0n, before: 0n },
) {
  const buckets = bucketsOf(minutes, grain)
  for (let start = 0; start < buckets.length; start += 2000) {
    const last = start + 2000 >= buckets.length
    await refreshGrain(
      clickhouse,
      grain,
      buckets.slice(start, start + 2000),
      last ? marks.followed : marks.before,
    )
  }
}

/**
 * Writes the rollup rows of these minutes again from `outcomes` as it stands, inside the engine:
 * every partition's rows, then the minutes summed from them. Idempotent. Versioned by the
 * engine's clock read just before each write: of two writes of a row, the one that read it last
 * saw every outcome committed before it and wins. The coarser grains follow
 * (`followCoarserGrains`).
 */
export async function refreshRollups(
  clickhouse: ClickHouse,
  minutes: readonly RollupMinute[],
): Promise<void> {
  if (minutes.length === 0) return
  await refreshPartitionRollups(
    clickhouse,
    minutes,
    await engineClock(clickhouse, { grain: 60, all: false, count: minutes.length }),
  )
  await sumMinutes(clickhouse, minutes)
}

/**
 * Writes partition rollup rows whole (counted by their owner, `partition-rollups.ts`), then the
 * minutes they are in, summed from every partition's rows.
 */
export async function writeMinuteRollups(
  clickhouse: ClickHouse,
  rows: readonly PartitionRollupRow[],
  minutes: readonly RollupMinute[],
): Promise<void> {
  if (rows.length > 0)
    await writePartitionRollups(
      clickhouse,
      rows,
      await engineClock(clickhouse, { grain: 60, all: false, count: minutes.length }),
    )
  if (minutes.length > 0) await sumMinutes(clickhouse, minutes)
}

/** The minute rows of these minutes from the partitions' rows, and on a cluster the coarser grains. */
async function sumMinutes(clickhouse: ClickHouse, minutes: readonly RollupMinute[]): Promise<void> {
  await refreshBuckets(clickhouse, 60, minutes)
  // On a cluster, block numbers are per partition and not in commit order: nothing to follow,
  // so the coarser buckets are written now.
  if (clickhouse.cluster)
    for (const grain of ROLLUP_GRAINS.slice(1)) await refreshBuckets(clickhouse, grain, minutes)
}

const FOLLOWING = 'writing the coarser grains of the rollup'

const followerStartQuery = defineQuery({
  name: 'reading where the rollup follower stopped',
  connection: 'writer',
  params: z.object({}),
  sql: (db) =>
    `SELECT toString(max(followed_block)) AS b FROM ${db}.cpi_rollup WHERE grain = ${ROLLUP_GRAINS[ROLLUP_GRAINS.length - 1]}`,
  row: (row) => BigInt(row.b as string),
  what: () => FOLLOWING,
})

const minutesSinceQuery = defineQuery({
  name: 'reading the rollup minutes written since a block',
  connection: 'writer',
  params: z.object({ since: z.string().regex(/^\d+$/) }),
  sql: (db) => `SELECT cpi, toUnixTimestamp(bucket) AS minute, toString(max(_block_number)) AS newest
       FROM ${db}.cpi_rollup
       WHERE ${newerParts('{since:UInt64}')} AND grain = 60 AND _block_number > {since:UInt64}
       GROUP BY cpi, minute`,
  row: (row) => ({
    cpi: row.cpi as string,
    minute: Number(row.minute) * 1000,
    newest: BigInt(row.newest as string),
  }),
  what: () => FOLLOWING,
})

/**
 * Writes again the 5-minute and hour buckets of every minute row committed since block `since`
 * (`_block_number`: inserts in commit order), each grain from the one below, and returns the
 * newest block followed: the next call's `since`. Without `since`: from where the coarser rows
 * say the last follower got to. A minute row committed while this runs has a later block: the
 * next call takes it.
 */
export async function followCoarserGrains(
  clickhouse: ClickHouse,
  since: bigint | undefined,
): Promise<bigint> {
  if (clickhouse.cluster) return since ?? 0n // written with the minutes (`refreshRollups`)
  const coarsest = ROLLUP_GRAINS[ROLLUP_GRAINS.length - 1]
  const start = since ?? (await followerStartQuery(clickhouse, {}))[0] ?? 0n
  const rows = await minutesSinceQuery(clickhouse, { since: start.toString() })
  let followed = start
  for (const row of rows) if (row.newest > followed) followed = row.newest
  for (const grain of ROLLUP_GRAINS.slice(1))
    await refreshBuckets(clickhouse, grain, rows, {
      followed: grain === coarsest ? followed : 0n,
      before: grain === coarsest ? start : 0n,
    })
  return followed
}

/**
 * Parts that may hold rows of a block number above `since` (an SQL expression): a part's name
 * says the highest block it holds (`partition_min_max_level`, partitions by month), so older parts are skipped
 * unread.
 */
export const newerParts = (since: string) => `toUInt64OrZero(splitByChar('_', _part)[3]) > ${since}`

const newestMinuteBlockQuery = defineQuery({
  name: 'reading the newest block of the rollup minutes',
  connection: 'writer',
  params: z.object({}),
  sql: (db) => `SELECT toString(max(_block_number)) AS b FROM ${db}.cpi_rollup WHERE grain = 60`,
  row: (row) => BigInt(row.b as string),
  what: () => 'rebuilding the rollup',
})

/**
 * Every rollup row written again from `outcomes` — the partitions' rows, then grain by grain — with zeros where a bucket's
 * (dimension, value) has no outcome any more (after a bulk load, or to repair).
 */
export async function rebuildRollups(clickhouse: ClickHouse): Promise<void> {
  await rebuildPartitionRollups(clickhouse, await engineClock(clickhouse, { grain: 60, all: true, count: 0 }))
  for (const grain of ROLLUP_GRAINS.slice(0, -1)) await refreshGrain(clickhouse, grain, 'all', 0n)
  const [newest = 0n] = await newestMinuteBlockQuery(clickhouse, {})
  // The coarser rows now hold every minute written: the sweep's follower starts from there.
  await refreshGrain(clickhouse, ROLLUP_GRAINS[ROLLUP_GRAINS.length - 1] as number, 'all', newest)
}

/** The latency a histogram key stands for (ms): its bucket's centre on the log scale, whole ms (as the views compute it). */
export const histogramValue = (key: number): number =>
  key === 0 ? 0 : Math.sign(key) * Math.round(1.01 ** (Math.abs(key) - 1))

/**
 * Latency percentiles (p50, p90, p99) from a histogram (keys ascending, their counts): each rank
 * interpolated between its neighbours' values, as the exact percentile is between the
 * neighbouring latencies. Within 1 % (buckets are 1 % wide). The `cpi_values*` views compute the
 * same in SQL. Null for an empty histogram.
 */
export function histogramQuantiles(
  keys: readonly number[],
  counts: readonly number[],
): [number, number, number] | null {
  const total = counts.reduce((sum, count) => sum + count, 0)
  if (total === 0) return null
  const valueAtRank = (rank: number) => {
    let seen = 0
    for (let index = 0; index < keys.length; index++) {
      seen += counts[index] as number
      if (seen > rank) return histogramValue(keys[index] as number)
    }
    return histogramValue(keys[keys.length - 1] as number)
  }
  const at = (q: number) => {
    const position = (total - 1) * q
    const low = valueAtRank(Math.floor(position))
    return low + (valueAtRank(Math.ceil(position)) - low) * (position - Math.floor(position))
  }
  return [at(0.5), at(0.9), at(0.99)]
}

/** The histogram key of a latency column or expression (ms), as the rollup stores it. */
export const histogramKey = (latency: string): string =>
  `toInt16(if(${latency} = 0, 0, sign(${latency}) * (1 + round(log(abs(${latency})) / log(1.01)))))`
