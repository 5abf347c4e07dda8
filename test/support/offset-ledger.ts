import type { ClickHouse } from '@cpi/clickhouse'

/**
 * The (partition, offset) ledger of a topic: every offset is in `events` (valid) or in
 * `rejected_events` (rejected by the processor), once after deduplication. Returns, per
 * partition, the offsets found and how many times each was counted.
 */
export async function topicLedger(
  clickhouse: ClickHouse,
  topic: string,
): Promise<{ partition: number; distinct: number; min: number; max: number; duplicates: number }[]> {
  const result = await clickhouse.reader.query({
    query: `SELECT partition, uniqExact(offset) AS distinct, min(offset) AS min, max(offset) AS max,
                   count() - uniqExact(offset) AS duplicates
            FROM (
              SELECT kafka_partition AS partition, kafka_offset AS offset FROM ${clickhouse.database}.events FINAL
              WHERE kafka_topic = {topic:String}
              UNION ALL
              SELECT toUInt32(source_partition) AS partition, toUInt64(source_offset) AS offset
              FROM ${clickhouse.database}.rejected_events FINAL WHERE source_topic = {topic:String}
            )
            GROUP BY partition ORDER BY partition`,
    query_params: { topic },
    format: 'JSONEachRow',
  })
  const rows = await result.json<Record<string, string | number>>()
  return rows.map((row) => ({
    partition: Number(row.partition),
    distinct: Number(row.distinct),
    min: Number(row.min),
    max: Number(row.max),
    duplicates: Number(row.duplicates),
  }))
}
