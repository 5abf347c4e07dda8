import type { ClickHouse } from './client.ts'
import { toClickHouseError } from './errors.ts'

/**
 * Days of retention per group of tables (CPI_RETENTION_*_DAYS). `undefined` leaves a table as
 * it is; `0` removes its TTL; a positive number sets `TTL <time column> + N days`.
 */
export interface RetentionSettings {
  eventsDays?: number | undefined
  rejectedDays?: number | undefined
  alertsDays?: number | undefined
}

/**
 * Which column each table's TTL counts from. `events` by event time (its partitions are by
 * month of `time`, so whole parts expire together); `rejected_events` by when it was recorded
 * (a rejected event's own time may be anything); the alerter's tables by evaluation and
 * delivery time. `alert_deliveries` keeps 7 days longer than `alerts`: a delivery row must not
 * go before the transition it settles, or a restarted alerter would send it again.
 */
export const retentionTables = [
  { table: 'events', setting: 'eventsDays', column: 'toDateTime(time)', extraDays: 0 },
  { table: 'rejected_events', setting: 'rejectedDays', column: 'toDateTime(recorded_at)', extraDays: 0 },
  { table: 'alerts', setting: 'alertsDays', column: 'toDateTime(evaluated_at)', extraDays: 0 },
  { table: 'alert_deliveries', setting: 'alertsDays', column: 'toDateTime(delivered_at)', extraDays: 7 },
] as const

/** The TTL expression as ClickHouse prints it back in `create_table_query`, so a comparison tells whether it is in force. */
export const ttlExpression = (column: string, days: number) => `${column} + toIntervalDay(${days})`

/** The table-level TTL of a `CREATE TABLE` statement, or undefined. */
export function tableTtl(createTableQuery: string): string | undefined {
  return /\sTTL\s+(.+?)(?:\s+SETTINGS\s.*)?$/s.exec(createTableQuery)?.[1]?.trim()
}

export interface RetentionReport {
  /** `table: TTL expression` or `table: no TTL`, for each table altered now. */
  changed: string[]
  /** Tables already as configured (or left alone). */
  unchanged: string[]
}

/**
 * Applies the configured retention with `ALTER TABLE … MODIFY TTL` (or `REMOVE TTL`), only where
 * the table's TTL differs: idempotent, safe at every start and from several processes. Not a
 * migration: applied migrations are checksummed, and retention is configuration. A first TTL
 * on a large table is materialized by a background mutation (it rewrites the table's parts once).
 */
export async function applyRetention(
  clickhouse: ClickHouse,
  settings: RetentionSettings,
): Promise<RetentionReport> {
  const report: RetentionReport = { changed: [], unchanged: [] }
  const wanted = retentionTables.filter((entry) => settings[entry.setting] !== undefined)
  for (const entry of retentionTables)
    if (settings[entry.setting] === undefined) report.unchanged.push(entry.table)
  if (wanted.length === 0) return report
  const { writer, database } = clickhouse
  let current: Map<string, string | undefined>
  try {
    const result = await writer.query({
      query: `SELECT name, create_table_query FROM system.tables
              WHERE database = {database:String} AND name IN {tables:Array(String)}`,
      query_params: { database, tables: wanted.map((entry) => entry.table) },
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ name: string; create_table_query: string }>()
    current = new Map(rows.map((row) => [row.name, tableTtl(row.create_table_query)]))
  } catch (error) {
    throw toClickHouseError(error, 'reading the tables’ TTLs')
  }
  for (const entry of wanted) {
    const days = settings[entry.setting] as number
    const target = days === 0 ? undefined : ttlExpression(entry.column, days + entry.extraDays)
    if (!current.has(entry.table) || current.get(entry.table) === target) {
      report.unchanged.push(entry.table)
      continue
    }
    const query =
      target === undefined
        ? `ALTER TABLE ${database}.${entry.table} REMOVE TTL`
        : `ALTER TABLE ${database}.${entry.table} MODIFY TTL ${target}`
    try {
      await writer.command({ query })
    } catch (error) {
      throw toClickHouseError(error, `setting the retention of ${entry.table}`)
    }
    report.changed.push(`${entry.table}: ${target ?? 'no TTL'}`)
  }
  return report
}
