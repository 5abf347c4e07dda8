// The processor counts latencies into the rollup's histogram in JavaScript (decision 0020);
// a repair counts them in SQL. Both must give every latency the same key.
import { latencyHistogramKey } from '@cpi/clickhouse'
import { describe, expect } from 'vitest'
import { it } from './support/fixtures.ts'

describe('the rollup histogram key in JavaScript and in the engine', () => {
  it('is the same for every latency up to 10 minutes and for a spread of larger and negative ones', async ({
    clickhouse,
  }) => {
    const sql = `toInt16(if(l = 0, 0, sign(l) * (1 + round(log(abs(l)) / log(1.01)))))`
    const result = await clickhouse.reader.query({
      query: `SELECT l, ${sql} AS k FROM (
                SELECT toInt64(number) AS l FROM numbers(600001)
                UNION ALL SELECT toInt64(-number) FROM numbers(1, 20000)
                UNION ALL SELECT toInt64(number * 7919 + 600001) FROM numbers(200000))`,
      format: 'JSONCompactEachRow',
    })
    const rows = await result.json<[string, number]>()
    expect(rows.length).toBe(820001)
    const differ = rows.filter(([latency, key]) => latencyHistogramKey(Number(latency)) !== key).slice(0, 5)
    expect(differ).toEqual([])
  })
})
