import {
  addRowCounts,
  type ClickHouse,
  type CountedRow,
  emptyCounts,
  isEmptyCounts,
  minuteStart,
  type PartitionMinute,
  type PartitionRollupRow,
  partitionMinuteKey,
  partitionMinutesToRepair,
  type RollupCounts,
  type RollupMinute,
  readPartitionRollups,
  refreshRollups,
  rowDimensions,
  writeMinuteRollups,
} from '@cpi/clickhouse'

// The minute rollup the processor keeps by difference (decision 0020): per (CPI, minute,
// partition) the counts of every (dimension, value), held in memory, changed by each outcome row
// written (its counts added, those of the row it replaced taken away) and written whole. Memory
// holds at most a cache of what is stored: an entry is read from `cpi_rollup_partition` when first
// needed, dropped after `maxAgeMs` (another writer, `cpi recompute`, is seen then) or when over
// `maxEntries`. Counting by difference needs the stored rows to agree with `outcomes`: where a
// write may have left them apart (a failed write here; a crash of the partition's last owner,
// found at takeover by `written_at`), the minutes are written again from `outcomes` first.

/** An outcome row as the rollup counts it, with its CPI. */
export type RollupChange = CountedRow & { cpi: string }

interface Entry {
  key: PartitionMinute
  readAt: number
  /** (dimension, value) → counts, as stored (rows counting nothing are not held). */
  counts: Map<string, RollupCounts>
}

const DIMENSION_SEPARATOR = '\u0000'

export class PartitionRollupState {
  /** Insertion order is recency: a touched entry moves to the end, the oldest goes first. */
  private readonly entries = new Map<string, Entry>()
  /** Minutes a failed write may have left apart from `outcomes`: written from it before counting. */
  private readonly dirty = new Map<string, RollupMinute>()
  /** Partitions whose crash repair ran since they were taken. */
  private readonly repaired = new Set<number>()
  private readonly limits: { maxEntries: number; maxAgeMs: number }

  constructor(limits: { maxEntries?: number; maxAgeMs?: number } = {}) {
    this.limits = { maxEntries: limits.maxEntries ?? 4096, maxAgeMs: limits.maxAgeMs ?? 5 * 60_000 }
  }

  get size(): number {
    return this.entries.size
  }

  /**
   * Before a write of outcomes for these partitions: the minutes a failed write left and, for a
   * partition new to this process, those its last owner's crash left, written from `outcomes`.
   * Must run before the write's own outcome rows are stored (they would be counted twice).
   */
  async prepare(clickhouse: ClickHouse, partitions: Iterable<number>): Promise<void> {
    for (const partition of partitions) {
      if (this.repaired.has(partition)) continue
      for (const minute of await partitionMinutesToRepair(clickhouse, partition)) this.markDirty(minute)
      this.repaired.add(partition)
    }
    if (this.dirty.size === 0) return
    const minutes = [...this.dirty.values()]
    await refreshRollups(clickhouse, minutes)
    for (const minute of minutes) this.dirty.delete(`${minute.cpi}\u0000${minute.minute}`)
  }

  /**
   * Counts written outcome rows by difference — each row's counts added, those of the rows it
   * replaced taken away — and writes the (CPI, minute, partition)s they touch, then the minutes.
   * On failure the touched minutes are marked to be written from `outcomes` by the next `prepare`.
   */
  async write(
    clickhouse: ClickHouse,
    changes: readonly { row: RollupChange; replaced: readonly RollupChange[] }[],
    now: number,
  ): Promise<void> {
    const keys = new Map<string, PartitionMinute>()
    const keyOf = (row: RollupChange) => {
      const key = { cpi: row.cpi, minute: minuteStart(row.cohortAt), partition: row.kafka_partition }
      const text = partitionMinuteKey(key)
      keys.set(text, key)
      return text
    }
    const applied: [string, RollupChange, 1 | -1][] = []
    for (const { row, replaced } of changes) {
      for (const old of replaced) applied.push([keyOf(old), old, -1])
      applied.push([keyOf(row), row, 1])
    }
    if (applied.length === 0) return
    try {
      await this.load(clickhouse, [...keys.values()], now)
      // The (dimension, value)s each write changes, and whether each was stored before (one
      // emptied by this write is written as zeros). The others stay as stored.
      const touched = new Map<string, Map<string, boolean>>()
      for (const [key, row] of applied) {
        const held = this.entries.get(key)?.counts
        const dimensions = touched.get(key) ?? new Map<string, boolean>()
        touched.set(key, dimensions)
        if (row.state === 'excluded') continue
        for (const text of dimensionKeys(row))
          if (!dimensions.has(text)) dimensions.set(text, held?.has(text) === true)
      }
      for (const [key, row, sign] of applied) this.count(key, row, sign)
      const rows = [...touched].flatMap(([key, dimensions]) => this.rowsOf(key, dimensions))
      await writeMinuteRollups(clickhouse, rows, minutesOfKeys(keys.values()))
    } catch (error) {
      for (const [text, key] of keys) {
        this.entries.delete(text)
        this.markDirty({ cpi: key.cpi, minute: key.minute })
      }
      throw error
    }
  }

  /** Minutes to write from `outcomes` before the next count (a write whose outcome was unsure). */
  markDirty(minute: RollupMinute): void {
    this.dirty.set(`${minute.cpi}\u0000${minute.minute}`, minute)
    for (const [text, entry] of this.entries)
      if (entry.key.cpi === minute.cpi && entry.key.minute === minute.minute) this.entries.delete(text)
  }

  /** A partition given up, or a group that failed: its entries go, and its repair runs again when taken. */
  forget(partition: number): void {
    for (const [text, entry] of this.entries) if (entry.key.partition === partition) this.entries.delete(text)
    this.repaired.delete(partition)
  }

  /** Reads the entries not held (or held too long) in one statement. */
  private async load(clickhouse: ClickHouse, keys: readonly PartitionMinute[], now: number): Promise<void> {
    const missing: PartitionMinute[] = []
    for (const key of keys) {
      const text = partitionMinuteKey(key)
      const entry = this.entries.get(text)
      if (entry && now - entry.readAt <= this.limits.maxAgeMs) {
        this.entries.delete(text)
        this.entries.set(text, entry)
      } else missing.push(key)
    }
    if (missing.length === 0) return
    const fresh = new Map<string, Entry>()
    for (const key of missing) fresh.set(partitionMinuteKey(key), { key, readAt: now, counts: new Map() })
    for (const row of await readPartitionRollups(clickhouse, missing))
      if (!isEmptyCounts(row.counts))
        fresh
          .get(partitionMinuteKey(row))
          ?.counts.set(`${row.dimension}${DIMENSION_SEPARATOR}${row.value}`, row.counts)
    for (const [text, entry] of fresh) {
      this.entries.delete(text)
      this.entries.set(text, entry)
    }
    this.evict(keys.length)
  }

  private count(key: string, row: RollupChange, sign: 1 | -1): void {
    const entry = this.entries.get(key)
    if (!entry) throw new Error(`partition rollup entry ${JSON.stringify(key)} is not held`)
    if (row.state === 'excluded') return // counted nowhere (as `outcome_rollup_partition_rows`)
    for (const text of dimensionKeys(row)) {
      let counts = entry.counts.get(text)
      if (!counts) {
        counts = emptyCounts()
        entry.counts.set(text, counts)
      }
      addRowCounts(counts, row, sign)
    }
  }

  /**
   * The rows of an entry's changed (dimension, value)s: those counting something, and as zeros
   * those stored before that count nothing now (then no longer held). One that was not stored
   * and counts nothing after this write is not written, as a write from `outcomes` would not.
   */
  private rowsOf(text: string, changed: ReadonlyMap<string, boolean>): PartitionRollupRow[] {
    const entry = this.entries.get(text)
    if (!entry) return []
    const rows: PartitionRollupRow[] = []
    for (const [dimensionValue, storedBefore] of changed) {
      const counts = entry.counts.get(dimensionValue)
      if (!counts) continue
      if (isEmptyCounts(counts)) {
        entry.counts.delete(dimensionValue)
        if (!storedBefore) continue
      }
      const cut = dimensionValue.indexOf(DIMENSION_SEPARATOR)
      rows.push({
        ...entry.key,
        dimension: dimensionValue.slice(0, cut),
        value: dimensionValue.slice(cut + 1),
        counts,
      })
    }
    return rows
  }

  /** Drops the oldest entries over the limit, keeping at least the `keep` just used. */
  private evict(keep: number): void {
    const over = this.entries.size - Math.max(this.limits.maxEntries, keep)
    if (over <= 0) return
    let dropped = 0
    for (const text of this.entries.keys()) {
      if (dropped >= over) return
      this.entries.delete(text)
      dropped++
    }
  }
}

/** The (dimension, value)s a row counts under, as entry keys. */
const dimensionKeys = (row: CountedRow): string[] =>
  rowDimensions(row).map(([dimension, value]) => `${dimension}${DIMENSION_SEPARATOR}${value}`)

/** The distinct (CPI, minute)s of partition minutes. */
function minutesOfKeys(keys: Iterable<PartitionMinute>): RollupMinute[] {
  const minutes = new Map<string, RollupMinute>()
  for (const { cpi, minute } of keys) minutes.set(`${cpi}\u0000${minute}`, { cpi, minute })
  return [...minutes.values()]
}
