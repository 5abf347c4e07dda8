import type { maxEventTimeBefore } from '@cpi/clickhouse'
import type { Batch } from '@cpi/kafka'
import type { Candidate } from './arrival-stage.ts'
import type { InteractionCache } from './interaction-cache.ts'
import type { PartitionClock } from './partition-clock.ts'
import type { PartitionRollupState } from './rollup-state.ts'

/** The latest event time stored before a partition's position, overall and per source (from `events`). */
export type StoredTime = (
  position: Parameters<typeof maxEventTimeBefore>[1],
) => ReturnType<typeof maxEventTimeBefore>

/** The next offset each partition's clock has seen up to; any other next batch restarts the clock. */
export type ClockPositions = Map<number, bigint>

/**
 * The clock stage, first half: the clock of each batch's partition, restarted from what is
 * stored unless the batch follows the last one this process wrote for that partition.
 */
export async function startClocks(
  batches: readonly Batch[],
  arrivedAt: number,
  state: {
    storedTime: StoredTime
    clock: PartitionClock
    cache: InteractionCache
    rollups: PartitionRollupState
    positions: ClockPositions
  },
): Promise<void> {
  for (const batch of batches) {
    const partition = batch.partition
    const firstOffset = batch.messages[0]?.offset ?? '0'
    if (state.positions.get(partition) === BigInt(firstOffset)) continue
    // Not the batch after the last one this process wrote: another process may have written
    // this partition meanwhile (a session lost in a long batch, then the partition back), so
    // nothing held for it is trusted.
    state.cache.forget(partition)
    state.rollups.forget(partition)
    const stored = await state.storedTime({ topic: batch.topic, partition, offset: firstOffset })
    state.clock.start(partition, stored.max, arrivedAt, stored.bySource)
  }
}

/** Where each batch's partition stands once the group is durable: the next batch follows on from here. */
export function advanceClockPositions(batches: readonly Batch[], positions: ClockPositions): void {
  for (const batch of batches) {
    const last = batch.messages.at(-1)?.offset ?? batch.messages[0]?.offset ?? '0'
    positions.set(batch.partition, BigInt(last) + 1n)
  }
}

export interface Observed {
  /** The interactions each partition's events touched (too-late events touch none). */
  touched: Map<number, Set<string>>
  late: number
  clampedTimes: number
}

/**
 * The clock stage, second half: each accepted event, in offset order, moves its partition's
 * clock and is marked too late (`too_late`) when it came later than the allowed lateness.
 */
export function observeClocks(
  clock: PartitionClock,
  accepted: readonly Candidate[],
  arrivedAt: number,
): Observed {
  const observed: Observed = { touched: new Map(), late: 0, clampedTimes: 0 }
  for (const { row } of accepted) {
    const seen = clock.observe(row.kafka_partition, Date.parse(row.time), arrivedAt, row.source)
    if (seen.clamped) observed.clampedTimes++
    row.too_late = seen.tooLate ? 1 : 0
    if (seen.tooLate) observed.late++
    const subjects = observed.touched.get(row.kafka_partition) ?? new Set<string>()
    observed.touched.set(row.kafka_partition, subjects)
    if (!seen.tooLate) subjects.add(row.subject)
  }
  return observed
}
