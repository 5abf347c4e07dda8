// The minute rollup the processor keeps by difference (decision 0020) must hold exactly what
// `outcomes` says: every partition's rows, and the minutes summed from them, against the same
// counts aggregated from `outcomes` by the engine. Rows counting nothing (what an emptied
// (dimension, value) is written as) are left out of both sides.
import type { ClickHouse } from '@cpi/clickhouse'
import { expect } from 'vitest'

const COUNTS = `good, total, pending, provisional, latency_count,
                toString(mapSort(latency_histogram)) AS histogram, toString(arraySort(open_since)) AS open`
const NOT_EMPTY = `NOT (good = 0 AND total = 0 AND pending = 0 AND provisional = 0 AND latency_count = 0
                   AND empty(latency_histogram) AND empty(open_since))`

async function lines(clickhouse: ClickHouse, query: string): Promise<string[]> {
  const result = await clickhouse.reader.query({ query, format: 'JSONEachRow' })
  return (await result.json<Record<string, unknown>>()).map((row) => JSON.stringify(row)).sort()
}

/** Rows of the rollup that differ from `outcomes` (at most `limit` of each side), per partition and summed. */
export async function rollupDisagreement(
  clickhouse: ClickHouse,
  limit = 10,
): Promise<{
  partitions: { stored: string[]; expected: string[] }
  minutes: { stored: string[]; expected: string[] }
}> {
  const db = clickhouse.database
  const diff = (stored: string[], expected: string[]) => {
    const want = new Set(expected)
    const have = new Set(stored)
    return {
      stored: stored.filter((line) => !want.has(line)).slice(0, limit),
      expected: expected.filter((line) => !have.has(line)).slice(0, limit),
    }
  }
  const keyed = 'cpi, toString(bucket) AS b, kafka_partition AS p, dimension, value'
  const partitions = diff(
    await lines(
      clickhouse,
      `SELECT ${keyed}, ${COUNTS} FROM ${db}.cpi_rollup_partition FINAL WHERE ${NOT_EMPTY}`,
    ),
    await lines(
      clickhouse,
      `SELECT ${keyed}, ${COUNTS} FROM ${db}.outcome_rollup_partition_rows WHERE ${NOT_EMPTY}`,
    ),
  )
  const minuteKey = 'cpi, toString(bucket) AS b, dimension, value'
  const minutes = diff(
    await lines(
      clickhouse,
      `SELECT ${minuteKey}, ${COUNTS} FROM ${db}.cpi_rollup FINAL WHERE grain = 60 AND ${NOT_EMPTY}`,
    ),
    await lines(
      clickhouse,
      `SELECT ${minuteKey}, ${COUNTS} FROM ${db}.outcome_rollup_rows WHERE ${NOT_EMPTY}`,
    ),
  )
  return { partitions, minutes }
}

/** Fails, showing the rows apart, unless the rollup holds exactly what `outcomes` says. */
export async function expectRollupAgreement(clickhouse: ClickHouse): Promise<void> {
  expect(await rollupDisagreement(clickhouse)).toEqual({
    partitions: { stored: [], expected: [] },
    minutes: { stored: [], expected: [] },
  })
}
