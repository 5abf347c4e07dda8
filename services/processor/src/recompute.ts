import {
  type ClickHouse,
  followCoarserGrains,
  includeEventsBeyondHorizon,
  interactionsStartedBetween,
  recordedWatermarks,
} from '@cpi/clickhouse'
import type { CpiDefinition } from '@cpi/cpi-core'
import { recomputeOutcomes } from './outcome-stage.ts'

export interface RecomputeReport {
  cpi: string
  definitionVersion: number
  interactions: number
  outcomes: number
  /** Events stored beyond the revision horizon that `includeLate` brought in (0 without it). */
  lateEventsIncluded: number
  partitions: { partition: number; watermark: string; interactions: number }[]
}

interface RecomputeOptions {
  clickhouse: ClickHouse
  definition: CpiDefinition
  topic: string
  from: number
  to: number
  /** First clear `too_late` on these interactions' events, so this and every later recomputation counts them. */
  includeLate?: boolean
}

/** The interactions of the CPI that started in [from, to), by partition, and each partition's recorded watermark. */
async function interactionsToRecompute(options: RecomputeOptions) {
  const { clickhouse, definition, topic } = options
  const type = definition.shape === 'survey' ? definition.response.type : definition.start.type
  const started = await interactionsStartedBetween(clickhouse, {
    topic,
    type,
    from: options.from,
    to: options.to,
  })
  const byPartition = new Map<number, string[]>()
  for (const { subject, partition } of started) {
    const list = byPartition.get(partition) ?? []
    list.push(subject)
    byPartition.set(partition, list)
  }
  return { byPartition, watermarks: await recordedWatermarks(clickhouse, topic) }
}

/**
 * Re-derives one CPI's outcomes for interactions that started in [from, to) from the raw
 * events, with the given definition, through the same code as live processing, each partition
 * as of its recorded watermark. The rows carry the definition's version and replace the old ones.
 * With `includeLate`, those interactions' events stored beyond the revision horizon count too,
 * from now on: the flag is cleared in `events` (not just ignored here), so the live
 * recomputations that follow keep them.
 */
export async function recompute(options: RecomputeOptions): Promise<RecomputeReport> {
  const { clickhouse, definition, topic } = options
  const { byPartition, watermarks } = await interactionsToRecompute(options)
  const report: RecomputeReport = {
    cpi: definition.name,
    definitionVersion: definition.version,
    interactions: 0,
    outcomes: 0,
    lateEventsIncluded: 0,
    partitions: [],
  }
  if (options.includeLate)
    report.lateEventsIncluded = await includeEventsBeyondHorizon(clickhouse, {
      kafkaTopic: topic,
      subjects: [...byPartition.values()].flat(),
    })
  for (const [partition, list] of [...byPartition].sort(([a], [b]) => a - b)) {
    const watermark = watermarks.get(partition)
    if (watermark === undefined) continue // never processed: the processor will compute it
    report.outcomes += await recomputeOutcomes(clickhouse, [definition], list, watermark, partition)
    report.interactions += list.length
    report.partitions.push({
      partition,
      watermark: new Date(watermark).toISOString(),
      interactions: list.length,
    })
  }
  // The coarser rollup buckets now, not at a running processor's next sweep (there may be none).
  await followCoarserGrains(clickhouse, undefined)
  return report
}
