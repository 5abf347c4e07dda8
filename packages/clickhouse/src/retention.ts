import { z } from 'zod'
import type { ClickHouse } from './client.ts'
import { defineCommand, defineQuery } from './query.ts'

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

const ttlsQuery = defineQuery({
  name: 'reading the tables’ TTLs',
  connection: 'writer',
  params: z.object({ database: z.string(), tables: z.array(z.string()) }),
  sql: () => `SELECT name, create_table_query FROM system.tables
              WHERE database = {database:String} AND name IN {tables:Array(String)}`,
  row: z.object({ name: z.string(), create_table_query: z.string() }),
})

const TABLE = /^[a-z_]+$/

const setTtlCommand = defineCommand({
  name: 'setting the retention of a table',
  params: z.object({ table: z.string().regex(TABLE), target: z.string().optional() }),
  sql: (database, { table, target }) =>
    target === undefined
      ? `ALTER TABLE ${database}.${table} REMOVE TTL`
      : `ALTER TABLE ${database}.${table} MODIFY TTL ${target}`,
  bind: () => ({}),
  what: ({ table }) => `setting the retention of ${table}`,
})

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
  const rows = await ttlsQuery(clickhouse, {
    database: clickhouse.database,
    tables: wanted.map((entry) => entry.table),
  })
  const current = new Map(rows.map((row) => [row.name, tableTtl(row.create_table_query)]))
  for (const entry of wanted) {
    const days = settings[entry.setting] as number
    const target = days === 0 ? undefined : ttlExpression(entry.column, days + entry.extraDays)
    if (!current.has(entry.table) || current.get(entry.table) === target) {
      report.unchanged.push(entry.table)
      continue
    }
    await setTtlCommand(clickhouse, { table: entry.table, target })
    report.changed.push(`${entry.table}: ${target ?? 'no TTL'}`)
  }
  return report
}
