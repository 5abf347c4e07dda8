import {
  type ClickHouse,
  followCoarserGrains,
  includeEventsBeyondHorizon,
  toClickHouseError,
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
  const startType = definition.shape === 'survey' ? definition.response.type : definition.start.type
  try {
    const result = await clickhouse.writer.query({
      query: `SELECT subject, any(kafka_partition) AS partition FROM ${clickhouse.database}.events
              WHERE kafka_topic = {topic:String} AND type = {type:String}
                AND time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
              GROUP BY subject`,
      query_params: { topic, type: startType, from: options.from, to: options.to },
      format: 'JSONEachRow',
    })
    const byPartition = new Map<number, string[]>()
    for (const row of await result.json<{ subject: string; partition: number }>()) {
      const list = byPartition.get(Number(row.partition)) ?? []
      list.push(row.subject)
      byPartition.set(Number(row.partition), list)
    }
    const recorded = await clickhouse.writer.query({
      query: `SELECT partition, toUnixTimestamp64Milli(max(watermark)) AS watermark FROM ${clickhouse.database}.watermarks
              WHERE topic = {topic:String} GROUP BY partition`,
      query_params: { topic },
      format: 'JSONEachRow',
    })
    const watermarks = new Map(
      (await recorded.json<{ partition: number; watermark: string }>()).map((row) => [
        Number(row.partition),
        Number(row.watermark),
      ]),
    )
    return { byPartition, watermarks }
  } catch (error) {
    throw toClickHouseError(error, `finding the interactions of ${definition.name} to recompute`)
  }
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
