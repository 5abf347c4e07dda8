import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineCommand, defineQuery, defineTabSeparatedInsert } from '../query.ts'
import { type TsvColumns, tsvString } from '../tab-separated.ts'

// The minute rollup per Kafka partition `cpi_rollup_partition`
// (schemas/clickhouse/migrations/0011_partition_rollups.sql), kept by the partition's owner: the
// processor holds a (CPI, minute, partition)'s counts, changes them by each outcome row written
// and the row it replaced, and writes them whole (decision 0020). The minute rows of `cpi_rollup`
// are summed from these. The counts of one outcome row are those of `outcome_rollup_partition_rows`,
// computed here in JavaScript: `rowCounts` must agree with that view (tested against the engine).

/** The counts of one (dimension, value) of a (CPI, minute, partition). */
export interface RollupCounts {
  good: number
  total: number
  pending: number
  provisional: number
  latency_count: number
  /** Histogram key → count; keys with a count of 0 are removed. */
  latency_histogram: Map<number, number>
  /** `partition:cohort ms` → count, of interactions open past their deadline. */
  open_since: Map<string, number>
  definition_version: number
}

/** What of an outcome row the rollup counts. */
export interface CountedRow {
  state: string
  status: string
  latency_ms: number | null
  open: 0 | 1
  segments: Record<string, string>
  kafka_partition: number
  /** ms since the epoch. */
  cohortAt: number
  definition_version: number
}

/** A (CPI, minute, partition): the unit the owner writes whole. */
export interface PartitionMinute {
  cpi: string
  /** The minute's start, ms since the epoch. */
  minute: number
  partition: number
}

export const partitionMinuteKey = ({ cpi, minute, partition }: PartitionMinute): string =>
  `${cpi}\u0000${minute}\u0000${partition}`

export const emptyCounts = (): RollupCounts => ({
  good: 0,
  total: 0,
  pending: 0,
  provisional: 0,
  latency_count: 0,
  latency_histogram: new Map(),
  open_since: new Map(),
  definition_version: 0,
})

const MINUTE = 60_000

/** The key the rollup gives a latency (the SQL of `histogramKey` in rollups.ts, in TypeScript). */
export const latencyHistogramKey = (ms: number): number =>
  ms === 0 ? 0 : Math.sign(ms) * (1 + Math.round(Math.log(Math.abs(ms)) / Math.log(1.01)))

/** The start of the minute of a time (ms since the epoch). */
export const minuteStart = (ms: number): number => ms - (((ms % MINUTE) + MINUTE) % MINUTE)

/** The (dimension, value) pairs a row counts under: (`all`, `all`) and each segment. */
export function rowDimensions(row: Pick<CountedRow, 'segments'>): [string, string][] {
  return [['all', 'all'], ...Object.entries(row.segments)]
}

const bump = <K>(map: Map<K, number>, key: K, by: number) => {
  const next = (map.get(key) ?? 0) + by
  if (next === 0) map.delete(key)
  else map.set(key, next)
}

/**
 * Adds (`sign` 1) or takes away (`sign` -1) one outcome row's counts to one (dimension, value)'s,
 * as `outcome_rollup_partition_rows` counts it. A tombstone (`excluded`) counts nothing.
 */
export function addRowCounts(counts: RollupCounts, row: CountedRow, sign: 1 | -1): void {
  if (row.state === 'excluded') return
  const decided = row.state === 'good' || row.state === 'bad'
  if (row.state === 'good') counts.good += sign
  if (decided) counts.total += sign
  if (row.state === 'pending') counts.pending += sign
  if (row.status === 'provisional') counts.provisional += sign
  if (decided && (row.latency_ms !== null || row.open === 1)) counts.latency_count += sign
  if (decided && row.latency_ms !== null && row.open === 0)
    bump(counts.latency_histogram, latencyHistogramKey(row.latency_ms), sign)
  if (decided && row.open === 1) bump(counts.open_since, `${row.kafka_partition}:${row.cohortAt}`, sign)
  // A maximum cannot be taken back: a row's version stays until the bucket is written from outcomes.
  if (sign === 1 && row.definition_version > counts.definition_version)
    counts.definition_version = row.definition_version
}

/** Whether the counts hold nothing (a (dimension, value) no row counts under any more). */
export const isEmptyCounts = (counts: RollupCounts): boolean =>
  counts.good === 0 &&
  counts.total === 0 &&
  counts.pending === 0 &&
  counts.provisional === 0 &&
  counts.latency_count === 0 &&
  counts.latency_histogram.size === 0 &&
  counts.open_since.size === 0

/** One row of `cpi_rollup_partition`: a (CPI, minute, partition, dimension, value)'s counts. */
export interface PartitionRollupRow extends PartitionMinute {
  dimension: string
  value: string
  counts: RollupCounts
}

const keySet = z.object({
  cpis: z.array(z.string()),
  /** Epoch seconds. */
  buckets: z.array(z.number().int()),
  partitions: z.array(z.number().int().nonnegative()),
})

const partitionRowsQuery = defineQuery({
  name: 'reading the partition rollup rows',
  connection: 'writer',
  params: keySet,
  sql: (db) => `SELECT cpi, toUnixTimestamp(bucket) AS b, kafka_partition AS p, dimension, value,
                       good, total, pending, provisional, latency_count,
                       mapKeys(latency_histogram) AS hk, mapValues(latency_histogram) AS hc,
                       open_since, definition_version
                FROM ${db}.cpi_rollup_partition FINAL
                WHERE (cpi, bucket, kafka_partition) IN
                      (SELECT tupleElement(t, 1), toDateTime(tupleElement(t, 2), 'UTC'), tupleElement(t, 3)
                       FROM (SELECT arrayJoin(arrayZip({cpis:Array(String)}, {buckets:Array(UInt32)},
                                                       {partitions:Array(UInt32)})) AS t))`,
  row: (row): PartitionRollupRow => {
    const histogram = new Map<number, number>()
    const keys = row.hk as number[]
    const counts = row.hc as (number | string)[]
    for (let index = 0; index < keys.length; index++)
      histogram.set(Number(keys[index]), Number(counts[index]))
    const open = new Map<string, number>()
    for (const [partition, at] of row.open_since as [number, number | string][])
      bump(open, `${partition}:${Number(at)}`, 1)
    return {
      cpi: row.cpi as string,
      minute: Number(row.b) * 1000,
      partition: Number(row.p),
      dimension: row.dimension as string,
      value: row.value as string,
      counts: {
        good: Number(row.good),
        total: Number(row.total),
        pending: Number(row.pending),
        provisional: Number(row.provisional),
        latency_count: Number(row.latency_count),
        latency_histogram: histogram,
        open_since: open,
        definition_version: Number(row.definition_version),
      },
    }
  },
  what: ({ cpis }) => `reading the partition rollup rows of ${cpis.length} minutes`,
})

/** The stored rows of these (CPI, minute, partition)s, 2,000 at a time. */
export async function readPartitionRollups(
  clickhouse: ClickHouse,
  keys: readonly PartitionMinute[],
): Promise<PartitionRollupRow[]> {
  const rows: PartitionRollupRow[] = []
  for (let start = 0; start < keys.length; start += 2000) {
    const part = keys.slice(start, start + 2000)
    rows.push(
      ...(await partitionRowsQuery(clickhouse, {
        cpis: part.map((key) => key.cpi),
        buckets: part.map((key) => key.minute / 1000),
        partitions: part.map((key) => key.partition),
      })),
    )
  }
  return rows
}

type VersionedRow = PartitionRollupRow & { version: string }

/** The counts of open interactions as the column holds them: one (partition, start) per interaction. */
function openSinceText(open: ReadonlyMap<string, number>): string {
  const items: string[] = []
  for (const [key, count] of open) {
    const [partition, at] = key.split(':')
    for (let index = 0; index < count; index++) items.push(`(${partition},${at})`)
  }
  return `[${items.join(',')}]`
}

const PARTITION_ROW_COLUMNS: TsvColumns<VersionedRow> = [
  ['cpi', (row) => tsvString(row.cpi)],
  ['bucket', (row) => String(row.minute / 1000)],
  ['kafka_partition', (row) => String(row.partition)],
  ['dimension', (row) => tsvString(row.dimension)],
  ['value', (row) => tsvString(row.value)],
  ['good', (row) => String(row.counts.good)],
  ['total', (row) => String(row.counts.total)],
  ['pending', (row) => String(row.counts.pending)],
  ['provisional', (row) => String(row.counts.provisional)],
  ['latency_count', (row) => String(row.counts.latency_count)],
  [
    'latency_histogram',
    (row) => `{${[...row.counts.latency_histogram].map(([key, count]) => `${key}:${count}`).join(',')}}`,
  ],
  ['open_since', (row) => openSinceText(row.counts.open_since)],
  ['definition_version', (row) => String(row.counts.definition_version)],
  ['version', (row) => row.version],
]

const partitionRowsInsert = defineTabSeparatedInsert({
  name: 'writing partition rollup rows',
  table: 'cpi_rollup_partition',
  columns: PARTITION_ROW_COLUMNS,
  what: (rows) => `writing ${rows.length} partition rollup rows`,
})

/** Writes these partition rollup rows whole, as of `version` (the engine's clock before the write, ns). */
export const writePartitionRollups = (
  clickhouse: ClickHouse,
  rows: readonly PartitionRollupRow[],
  version: string,
): Promise<void> =>
  partitionRowsInsert(
    clickhouse,
    rows.map((row) => ({ ...row, version })),
  )

const minuteSet = `(SELECT tupleElement(t, 1), toDateTime(tupleElement(t, 2), 'UTC')
                    FROM (SELECT arrayJoin(arrayZip({cpis:Array(String)}, {buckets:Array(UInt32)})) AS t))`

/**
 * The partition rollup rows of the minutes `within` selects (an SQL condition on `cpi` and
 * `bucket`) as `outcomes` says, and zeros for a (partition, dimension, value) a minute had and no
 * longer has, as of `version`.
 */
const fromOutcomesSql = (
  db: string,
  version: string,
  within: string,
) => `INSERT INTO ${db}.cpi_rollup_partition
        (cpi, bucket, kafka_partition, dimension, value, good, total, pending, provisional, latency_count,
         latency_histogram, open_since, definition_version, version)
        SELECT cpi, bucket, kafka_partition, dimension, value, sum(good), sum(total), sum(pending),
               sum(provisional), sum(latency_count), sumMap(latency_histogram), groupArrayArray(open_since),
               max(definition_version), ${version}
        FROM
        (
            SELECT cpi, bucket, kafka_partition, dimension, value, good, total, pending, provisional,
                   latency_count, latency_histogram, open_since, definition_version
            FROM ${db}.outcome_rollup_partition_rows WHERE ${within}
            UNION ALL
            SELECT cpi, bucket, kafka_partition, dimension, value, toUInt64(0), toUInt64(0), toUInt64(0),
                   toUInt64(0), toUInt64(0), CAST(map(), 'Map(Int16, UInt64)'),
                   CAST([], 'Array(Tuple(UInt32, Int64))'), toUInt32(0)
            FROM ${db}.cpi_rollup_partition FINAL WHERE ${within}
        )
        GROUP BY cpi, bucket, kafka_partition, dimension, value`

const partitionsFromOutcomesCommand = defineCommand({
  name: 'writing partition rollup rows from outcomes',
  params: z.object({
    cpis: z.array(z.string()),
    buckets: z.array(z.number().int()),
    version: z.string().regex(/^\d+$/),
  }),
  sql: (db, { version }) => fromOutcomesSql(db, version, `(cpi, bucket) IN ${minuteSet}`),
  bind: ({ cpis, buckets }) => ({ cpis, buckets }),
  what: ({ cpis }) => `writing the partition rollup rows of ${cpis.length} minutes from outcomes`,
})

/**
 * Writes the partition rollup rows of these (CPI, minute)s again from `outcomes`, every
 * partition's, 2,000 minutes per statement: a repair, a recompute, a rebuild. `version` is the
 * engine's clock read before (ns).
 */
export async function refreshPartitionRollups(
  clickhouse: ClickHouse,
  minutes: readonly { cpi: string; minute: number }[],
  version: string,
): Promise<void> {
  for (let start = 0; start < minutes.length; start += 2000) {
    const part = minutes.slice(start, start + 2000)
    await partitionsFromOutcomesCommand(clickhouse, {
      cpis: part.map((entry) => entry.cpi),
      buckets: part.map((entry) => entry.minute / 1000),
      version,
    })
  }
}

const rebuildPartitionsCommand = defineCommand({
  name: 'rebuilding the partition rollup rows',
  params: z.object({ version: z.string().regex(/^\d+$/) }),
  sql: (db, { version }) => fromOutcomesSql(db, version, '1'),
})

/** Every partition rollup row written again from `outcomes` (zeros where nothing counts any more). */
export const rebuildPartitionRollups = (clickhouse: ClickHouse, version: string): Promise<void> =>
  rebuildPartitionsCommand(clickhouse, { version })

const repairQuery = defineQuery({
  name: 'reading the minutes a partition rollup misses',
  connection: 'writer',
  params: z.object({ partition: z.number().int().nonnegative() }),
  // Outcome rows written after the partition's newest rollup row (a crash between the outcome
  // and rollup writes), and the minutes of that newest write (a crash between the partition
  // rows and the minutes summed from them); a second's margin for writes within one clock tick.
  sql: (db) => `WITH (SELECT max(written_at) FROM ${db}.cpi_rollup_partition
                      WHERE kafka_partition = {partition:UInt32}) AS newest
                SELECT DISTINCT cpi, m FROM
                (
                    SELECT cpi, toUnixTimestamp(toStartOfMinute(cohort_at)) AS m
                    FROM ${db}.outcomes
                    WHERE kafka_partition = {partition:UInt32} AND computed_at + INTERVAL 1 SECOND >= newest
                    UNION ALL
                    SELECT cpi, toUnixTimestamp(bucket) AS m
                    FROM ${db}.cpi_rollup_partition
                    WHERE kafka_partition = {partition:UInt32} AND written_at + INTERVAL 1 SECOND >= newest
                )`,
  row: (row) => ({ cpi: row.cpi as string, minute: Number(row.m) * 1000 }),
  what: ({ partition }) => `reading the rollup minutes partition ${partition} misses`,
})

/**
 * The (CPI, minute)s of a partition a crash may have left behind: those whose outcome rows were
 * written after its last rollup write (left uncounted), and those of that last write (whose
 * minute rows may not have been summed). Written again from `outcomes` before the partition's
 * new owner counts by difference.
 */
export const partitionMinutesToRepair = (
  clickhouse: ClickHouse,
  partition: number,
): Promise<{ cpi: string; minute: number }[]> => repairQuery(clickhouse, { partition })
