import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineQuery } from '../query.ts'

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

const totalsQuery = defineQuery({
  name: 'reading the CPI totals',
  params: z.object({}),
  sql: (
    database,
  ) => `SELECT cpi, dimension, value, sum(good) AS good, sum(total) AS total, sum(pending) AS pending, sum(provisional) AS provisional
              FROM ${database}.cpi_rollup FINAL
              WHERE grain = 3600
              GROUP BY cpi, dimension, value
              ORDER BY cpi, dimension, total DESC, value`,
  row: z.object({
    cpi: z.string(),
    dimension: z.string(),
    value: z.string(),
    good: z.coerce.number(),
    total: z.coerce.number(),
    pending: z.coerce.number(),
    provisional: z.coerce.number(),
  }),
})

/**
 * Every CPI × segment value's good, known and pending counts over all history, from the rollup's
 * hour rows (written a sweep after the minutes: about a second behind).
 */
export const queryCpiTotals = (clickhouse: ClickHouse): Promise<CpiTotals[]> => totalsQuery(clickhouse, {})
