// The processor counts latencies into the rollup's histogram in JavaScript (decision 0020);
// a repair counts them in SQL. Both must give every latency the same key, and a rebuild from
// `outcomes` must write what the rollup's view of them says.
import { insertOutcomes, latencyHistogramKey, type OutcomeRow, rebuildRollups } from '@cpi/clickhouse'
import { describe, expect } from 'vitest'
import { it } from './support/fixtures.ts'
import { expectRollupAgreement } from './support/rollup-agreement.ts'

describe('the partition rollup against the engine', () => {
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

  it('is what a rebuild from outcomes writes: every partition row and every minute summed from them', async ({
    clickhouse,
  }) => {
    const base = Date.UTC(2026, 10, 30, 8, 0)
    const rows: OutcomeRow[] = Array.from({ length: 60 }, (_, index) => ({
      cpi: index % 2 === 0 ? 'fast_quote' : 'nothing_broke',
      definition_version: 1,
      subject: `R-${index}`,
      cohort_at: new Date(base + (index % 5) * 60_000 + index * 100).toISOString(),
      state: (['good', 'bad', 'pending', 'excluded'] as const)[index % 4] as OutcomeRow['state'],
      status: index % 3 === 0 ? 'provisional' : 'final',
      latency_ms: index % 7 === 0 ? null : index * 997,
      open: index % 4 === 1 && index % 7 === 0 ? 1 : 0,
      segments: { region: `r${index % 3}` },
      revisit_at: null,
      watermark: new Date(base + 3_600_000).toISOString(),
      kafka_partition: index % 3,
      version: base + 3_600_000,
    }))
    await insertOutcomes(clickhouse, rows)
    await rebuildRollups(clickhouse)
    const result = await clickhouse.reader.query({
      query: `SELECT count() AS n FROM ${clickhouse.database}.cpi_rollup_partition FINAL WHERE total > 0`,
      format: 'JSONEachRow',
    })
    expect(Number((await result.json<{ n: string }>())[0]?.n)).toBeGreaterThan(10)
    await expectRollupAgreement(clickhouse)
  })
})
