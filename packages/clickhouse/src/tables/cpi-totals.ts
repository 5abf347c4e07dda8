import type { ClickHouse } from '../client.ts'
import { toClickHouseError } from '../errors.ts'

/** One CPI × segment value's counts over all of the rollup's history (the hour rows). */
export interface CpiTotals {
  cpi: string
  /** `all` for the whole CPI, else a segment field. */
  dimension: string
  value: string
  good: number
  /** Known outcomes: good + bad. */
  total: number
  pending: number
  /** Outcomes counted in good and total that may still change (a follow-up window is open). */
  provisional: number
}

/**
 * Every CPI × segment value's good, known and pending counts over all history, from the rollup's
 * hour rows (written a sweep after the minutes: about a second behind).
 */
export async function queryCpiTotals(clickhouse: ClickHouse): Promise<CpiTotals[]> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT cpi, dimension, value, sum(good) AS good, sum(total) AS total, sum(pending) AS pending, sum(provisional) AS provisional
              FROM ${clickhouse.database}.cpi_rollup FINAL
              WHERE grain = 3600
              GROUP BY cpi, dimension, value
              ORDER BY cpi, dimension, total DESC, value`,
      format: 'JSONEachRow',
    })
    return (await result.json<Record<string, unknown>>()).map((row) => ({
      cpi: String(row.cpi),
      dimension: String(row.dimension),
      value: String(row.value),
      good: Number(row.good),
      total: Number(row.total),
      pending: Number(row.pending),
      provisional: Number(row.provisional),
    }))
  } catch (error) {
    throw toClickHouseError(error, 'reading the CPI totals')
  }
}
