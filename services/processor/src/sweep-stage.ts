import { type ClickHouse, followCoarserGrains, pendingRevisits, recordWatermarks } from '@cpi/clickhouse'
import type { PartitionProgress } from '@cpi/kafka'
import { CoalescingRunner } from './coalescing-runner.ts'
import { type DecideState, decideAndWrite, type OutcomeGroup } from './decide-stage.ts'
import { type CopiesLoader, readInteractions } from './keyed-state-stage.ts'
import { type StageTimer, timed } from './outcome-stage.ts'
import type { PartitionClock } from './partition-clock.ts'
import type { ProcessorMetrics } from './processor-metrics.ts'

type WatermarkRecord = { topic: string; partition: number; watermark: number; maxEventTime: number }

/** A partition's revisit schedule is loaded again from storage after this long. */
const REVISITS_REFRESH_MS = 5 * 60_000

export interface SweepState extends DecideState {
  clock: PartitionClock
  topic: string
  metrics: DecideState['metrics'] & Pick<ProcessorMetrics, 'watermark' | 'lag' | 'stateLookups'>
  timer: StageTimer
  now: () => number
  load: CopiesLoader
  /** Runs the revisits in turn with the groups of batches (one computation at a time). */
  serially: <T>(work: () => Promise<T>) => Promise<T>
  /** The consumer's committed and high-water offsets, for the lag gauge. */
  progress: () => readonly PartitionProgress[]
}

/**
 * The sweep stage, time-driven: interactions whose deadline or follow-up window has passed
 * their partition's watermark, with no new event to trigger them, are decided again. Then the
 * upkeep — the coarser rollup buckets and the watermarks — runs on a connection of its own
 * while batches go on.
 */
export class Sweeper {
  /** The newest minute row (`_block_number`) the upkeep wrote coarser buckets for; unknown at start. */
  private coarserSince: bigint | undefined
  private readonly upkeeps = new CoalescingRunner<readonly WatermarkRecord[]>((records) =>
    this.writeUpkeep(records),
  )
  private background: ClickHouse | undefined
  private readonly state: SweepState

  constructor(state: SweepState) {
    this.state = state
  }

  /** Decides what is due, then writes the upkeep; resolves once both are written. */
  async sweep(): Promise<number> {
    const { written, records } = await this.state.serially(() => this.revisitAll())
    await this.upkeeps.run(records)
    return written
  }

  /** Resolves once no upkeep is in flight or pending. */
  idle(): Promise<void> {
    return this.upkeeps.idle()
  }

  /** Decides what the partitions' watermarks made due; the watermarks to record after it. */
  private async revisitAll(): Promise<{ written: number; records: WatermarkRecord[] }> {
    const { clock, catalog, revisits, now } = this.state
    // A partition's schedule is loaded on its first sweep after a takeover; the 5-minute
    // refreshes (each scans the partition's outcomes while batches wait) go one per sweep.
    let refreshedOne = false
    const records: WatermarkRecord[] = []
    const groups: OutcomeGroup[] = []
    for (const partition of clock.partitionsKnown()) {
      const watermark = clock.watermark(partition, now())
      if (watermark === undefined) continue
      if (catalog.length > 0) {
        // The schedule, not a scan of `outcomes`: a sweep costs what is due, not the table size.
        const stale = !revisits.loaded(partition, now() - REVISITS_REFRESH_MS)
        if (!revisits.loaded(partition) || (stale && !refreshedOne)) {
          refreshedOne ||= revisits.loaded(partition)
          revisits.load(partition, await pendingRevisits(this.state.clickhouse, partition), now())
        }
        const due = revisits.takeDue(partition, watermark)
        if (due.length > 0) groups.push({ partition, watermark, subjects: due })
      }
      this.state.metrics.watermark.set({ partition: String(partition) }, watermark / 1000)
      const maxEventTime = clock.maxEventTime(partition) ?? watermark
      records.push({ topic: this.state.topic, partition, watermark, maxEventTime })
    }
    const written = await timed(this.state.timer, 'revisits', () => this.revisitDue(groups))
    return { written, records }
  }

  /**
   * Decides again the interactions whose revisit came, every partition as of its own watermark,
   * with one read of what the keyed state does not hold and one insert. Returns the rows written.
   */
  private async revisitDue(groups: readonly OutcomeGroup[]): Promise<number> {
    if (groups.length === 0) return 0
    const { cache, revisits, metrics } = this.state
    try {
      const wanted = new Map(groups.map((group) => [group.partition, new Set(group.subjects)]))
      const copies = await readInteractions(wanted, {
        cache,
        load: this.state.load,
        now: this.state.now,
        count: (hits, misses) => {
          metrics.stateLookups.inc({ result: 'hit' }, hits)
          metrics.stateLookups.inc({ result: 'miss' }, misses)
        },
      })
      const result = await decideAndWrite(groups, copies, this.state, { trigger: 'time' })
      return result.written.length
    } catch (error) {
      for (const { partition } of groups) {
        revisits.forget(partition) // loaded again, due subjects included, at the next sweep
        cache.forget(partition)
        this.state.rollups?.forget(partition)
      }
      throw error
    }
  }

  /**
   * The 5-minute and hour buckets above the minutes written since the last upkeep (decision
   * 0015), then the watermarks: a reader that sees a watermark sees the buckets up to it, as
   * every minute row up to it was written before the sweep's revisits returned. On the third
   * connection, while batches go on; only partitions still owned get their watermark written.
   */
  private async writeUpkeep(records: readonly WatermarkRecord[]): Promise<void> {
    const { clickhouse, timer } = this.state
    this.background ??= { ...clickhouse, writer: clickhouse.background }
    const target = this.background
    if (this.state.catalog.length > 0) {
      this.coarserSince = await timed(timer, 'coarser_rollups', () =>
        followCoarserGrains(target, this.coarserSince),
      )
    }
    const owned = records.filter((record) => this.state.clock.knows(record.partition))
    await timed(timer, 'watermarks', () => recordWatermarks(target, owned))
    for (const progress of this.state.progress()) {
      const lag = Number(BigInt(progress.highWatermark) - BigInt(progress.committedOffset))
      this.state.metrics.lag.set({ partition: String(progress.partition) }, Math.max(0, lag))
    }
  }
}
