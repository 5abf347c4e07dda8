import { type ClickHouse, queryCpiValues } from '@cpi/clickhouse'
import { type Fact, groundTruth, type InteractionOutcome, type TruthRow } from '@cpi/simulator'

export interface StoredOutcome {
  cpi: string
  subject: string
  state: string
  status: string
  latencyMs: number | null
  partition: number
}

export async function storedOutcomes(clickhouse: ClickHouse): Promise<StoredOutcome[]> {
  const result = await clickhouse.reader.query({
    // Through outcomes_now: open interactions' latency is measured up to the current watermark.
    query: `SELECT cpi, subject, state, status, latency_ms, kafka_partition FROM ${clickhouse.database}.outcomes_now`,
    format: 'JSONEachRow',
  })
  const rows = await result.json<Record<string, unknown>>()
  return rows.map((row) => ({
    cpi: String(row.cpi),
    subject: String(row.subject),
    state: String(row.state),
    status: String(row.status),
    latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
    partition: Number(row.kafka_partition),
  }))
}

/** The processor's watermark per partition of a topic, as recorded. */
export async function storedWatermarks(clickhouse: ClickHouse, topic: string): Promise<Map<number, number>> {
  const result = await clickhouse.reader.query({
    query: `SELECT partition, toUnixTimestamp64Milli(argMax(watermark, updated_at)) AS watermark
            FROM ${clickhouse.database}.watermarks WHERE topic = {topic:String} GROUP BY partition`,
    query_params: { topic },
    format: 'JSONEachRow',
  })
  const rows = await result.json<{ partition: number; watermark: string }>()
  return new Map(rows.map((row) => [Number(row.partition), Number(row.watermark)]))
}

/** Which partition each subject's events went to. */
export async function partitionOfSubjects(clickhouse: ClickHouse): Promise<Map<string, number>> {
  const result = await clickhouse.reader.query({
    query: `SELECT subject, any(kafka_partition) AS partition FROM ${clickhouse.database}.events GROUP BY subject`,
    format: 'JSONEachRow',
  })
  return new Map(
    (await result.json<{ subject: string; partition: number }>()).map((row) => [
      row.subject,
      Number(row.partition),
    ]),
  )
}

/**
 * The ground truth as the engine must see it: each partition's interactions as of that
 * partition's watermark (R6 is per partition), merged.
 */
export function truthPerPartition(
  facts: readonly Fact[],
  partitionOf: ReadonlyMap<string, number>,
  watermarks: ReadonlyMap<number, number>,
): { outcomes: InteractionOutcome[]; rows: TruthRow[] } {
  const outcomes: InteractionOutcome[] = []
  const rows = new Map<string, TruthRow>()
  for (const [partition, watermark] of watermarks) {
    const mine = facts.filter((fact) => partitionOf.get(fact.subject) === partition)
    const truth = groundTruth(mine, { asOf: watermark })
    // One at a time: a partition of a million-event benchmark has more outcomes than a call takes arguments.
    for (const outcome of truth.outcomes) outcomes.push(outcome)
    for (const row of truth.rows) {
      const key = `${row.cpi}|${row.windowStart}|${row.dimension}|${row.value}`
      const existing = rows.get(key)
      if (!existing) rows.set(key, { ...row })
      else {
        existing.good += row.good
        existing.total += row.total
        existing.pending += row.pending
        existing.provisional += row.provisional
      }
    }
  }
  return { outcomes, rows: [...rows.values()] }
}

/** CPI values from the `cpi_values` view, keyed like the truth rows. */
export async function storedValues(
  clickhouse: ClickHouse,
): Promise<Map<string, { good: number; total: number; pending: number }>> {
  const values = await queryCpiValues(clickhouse)
  return new Map(
    values.map((row) => [
      `${row.cpi}|${row.windowStart}|${row.dimension}|${row.value}`,
      { good: row.good, total: row.total, pending: row.pending },
    ]),
  )
}
