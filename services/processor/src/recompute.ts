import { type ClickHouse, toClickHouseError } from '@cpi/clickhouse'
import type { CpiDefinition } from '@cpi/cpi-core'
import { recomputeOutcomes } from './outcome-stage.ts'

export interface RecomputeReport {
  cpi: string
  definitionVersion: number
  interactions: number
  outcomes: number
  partitions: { partition: number; watermark: string; interactions: number }[]
}

/**
 * Re-derives one CPI's outcomes for interactions that started in [from, to) from the raw
 * events, with the given definition, through the same code as live processing, each partition
 * as of its recorded watermark. The rows carry the definition's version and replace the old ones.
 */
export async function recompute(options: {
  clickhouse: ClickHouse
  definition: CpiDefinition
  topic: string
  from: number
  to: number
}): Promise<RecomputeReport> {
  const { clickhouse, definition, topic } = options
  const startType = definition.shape === 'survey' ? definition.response.type : definition.start.type
  let subjects: { subject: string; partition: number }[]
  let watermarks: Map<number, number>
  try {
    const result = await clickhouse.writer.query({
      query: `SELECT subject, any(kafka_partition) AS partition FROM ${clickhouse.database}.events
              WHERE kafka_topic = {topic:String} AND type = {type:String}
                AND time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
              GROUP BY subject`,
      query_params: { topic, type: startType, from: options.from, to: options.to },
      format: 'JSONEachRow',
    })
    subjects = (await result.json<{ subject: string; partition: number }>()).map((row) => ({
      subject: row.subject,
      partition: Number(row.partition),
    }))
    const recorded = await clickhouse.writer.query({
      query: `SELECT partition, toUnixTimestamp64Milli(max(watermark)) AS watermark FROM ${clickhouse.database}.watermarks
              WHERE topic = {topic:String} GROUP BY partition`,
      query_params: { topic },
      format: 'JSONEachRow',
    })
    watermarks = new Map(
      (await recorded.json<{ partition: number; watermark: string }>()).map((row) => [
        Number(row.partition),
        Number(row.watermark),
      ]),
    )
  } catch (error) {
    throw toClickHouseError(error, `finding the interactions of ${definition.name} to recompute`)
  }
  const byPartition = new Map<number, string[]>()
  for (const { subject, partition } of subjects) {
    const list = byPartition.get(partition) ?? []
    list.push(subject)
    byPartition.set(partition, list)
  }
  const report: RecomputeReport = {
    cpi: definition.name,
    definitionVersion: definition.version,
    interactions: 0,
    outcomes: 0,
    partitions: [],
  }
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
  return report
}
