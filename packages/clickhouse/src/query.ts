import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client'
import type { z } from 'zod'
import type { ClickHouse } from './client.ts'
import { ClickHouseAdapterError, toClickHouseError } from './errors.ts'
import { type TsvColumns, tsvRows } from './tab-separated.ts'

// One way to talk to a table: a module declares each query or insert once — its name, the
// connection it runs on, its parameters (a zod schema, checked before anything is sent), its
// SQL, and what a row is (a zod schema, or a typed mapping on hot paths) — and gets back a
// typed function. Failures come out as ClickHouseAdapterError named by the query; every run is
// told to the observer (metrics, traces) with its name, time and rows.
//
// A statement's `name` is what the observers see, so it stays the same from run to run (no
// counts, no ids in it). Where a failure should say more (how many rows, which CPI), `what`
// gives its message's prefix from the parameters (or the rows of an insert).

/** The connection a statement runs on (src/client.ts): reads never wait behind writes. */
export type Connection = 'reader' | 'writer' | 'background'

export interface StatementRun {
  /** The statement's name as declared: what it does, in words. */
  name: string
  kind: 'query' | 'insert' | 'command'
  connection: Connection
  seconds: number
  rows: number
  error?: ClickHouseAdapterError
}

/** Told of every declared statement that ran (src/query.ts). */
export type StatementObserver = (run: StatementRun) => void

const observers = new Set<StatementObserver>()

/** Registers an observer of every statement run in this process; returns its removal. */
export function observeStatements(observer: StatementObserver): () => void {
  observers.add(observer)
  return () => observers.delete(observer)
}

/** A row as JSONEachRow gives it, turned into the module's type without a schema (hot paths). */
export type RowMapping<Row> = (row: Record<string, unknown>) => Row

const clientOf = (clickhouse: ClickHouse, connection: Connection): ClickHouseClient =>
  connection === 'reader'
    ? clickhouse.reader
    : connection === 'writer'
      ? clickhouse.writer
      : clickhouse.background

/** Runs `work`, telling the observers how it went; a failure is the adapter's error, named by `what`. */
async function traced<T>(
  run: Omit<StatementRun, 'seconds' | 'rows' | 'error'>,
  work: () => Promise<T>,
  rowsOf: (result: T) => number,
  what: () => string,
): Promise<T> {
  const started = performance.now()
  const tell = (rows: number, error?: ClickHouseAdapterError) => {
    const seconds = (performance.now() - started) / 1000
    for (const observer of observers) observer({ ...run, seconds, rows, ...(error ? { error } : {}) })
  }
  try {
    const result = await work()
    tell(rowsOf(result))
    return result
  } catch (error) {
    const failure = error instanceof ClickHouseAdapterError ? error : toClickHouseError(error, what())
    tell(0, failure)
    throw failure
  }
}

/** The parameters, checked: a bad one is the caller's bug, named before anything is sent. */
function checked<Params extends z.ZodType>(name: string, schema: Params, params: unknown): z.output<Params> {
  const parsed = schema.safeParse(params)
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(params)'}: ${issue.message}`,
  )
  throw new ClickHouseAdapterError(`${name}: invalid parameters (${problems.join('; ')})`, {
    retriable: false,
  })
}

/** Each row through its schema or mapping; a row that does not fit names the query and the field. */
function rowsOf<Row>(
  name: string,
  rows: Record<string, unknown>[],
  row: z.ZodType<Row> | RowMapping<Row>,
): Row[] {
  if (typeof row === 'function') return rows.map(row)
  return rows.map((raw, index) => {
    const parsed = row.safeParse(raw)
    if (parsed.success) return parsed.data
    const issue = parsed.error.issues[0]
    throw new ClickHouseAdapterError(
      `${name}: row ${index} does not fit (${issue?.path.join('.') || '(row)'}: ${issue?.message ?? 'invalid'})`,
      { retriable: false },
    )
  })
}

/**
 * Declares a query: `sql` gets the database name and the checked parameters (for the parts of
 * a statement a parameter cannot be: optional filters, grains); values go in as `{name:Type}`
 * placeholders, filled from `bind` (by default the checked parameters themselves).
 */
export function defineQuery<Params extends z.ZodType, Row>(spec: {
  name: string
  connection?: Connection
  params: Params
  sql: (database: string, params: z.output<Params>) => string
  bind?: (params: z.output<Params>) => Record<string, unknown>
  row: z.ZodType<Row> | RowMapping<Row>
  /** A failure's message prefix when it says more than `name`. */
  what?: (params: z.output<Params>) => string
}): (clickhouse: ClickHouse, params: z.input<Params>) => Promise<Row[]> {
  const connection = spec.connection ?? 'reader'
  return async (clickhouse, input) => {
    const params = checked(spec.name, spec.params, input)
    return traced(
      { name: spec.name, kind: 'query', connection },
      async () => {
        const result = await clientOf(clickhouse, connection).query({
          query: spec.sql(clickhouse.database, params),
          query_params: spec.bind ? spec.bind(params) : (params as Record<string, unknown>),
          format: 'JSONEachRow',
        })
        return rowsOf(spec.name, await result.json<Record<string, unknown>>(), spec.row)
      },
      (rows) => rows.length,
      () => spec.what?.(params) ?? spec.name,
    )
  }
}

/**
 * Declares an insert into `table` (JSONEachRow): `values` turns the module's rows into the
 * table's. No rows, no insert. On the write path unless said otherwise.
 */
export function defineInsert<Row>(spec: {
  name: string
  table: string
  connection?: Connection
  values: (row: Row) => Record<string, unknown>
  /** A failure's message prefix when it says more than `name`. */
  what?: (rows: readonly Row[]) => string
}): (clickhouse: ClickHouse, rows: readonly Row[]) => Promise<void> {
  const connection = spec.connection ?? 'writer'
  return async (clickhouse, rows) => {
    if (rows.length === 0) return
    await traced(
      { name: spec.name, kind: 'insert', connection },
      () =>
        clientOf(clickhouse, connection).insert({
          table: `${clickhouse.database}.${spec.table}`,
          values: rows.map(spec.values),
          format: 'JSONEachRow',
        }),
      () => rows.length,
      () => spec.what?.(rows) ?? spec.name,
    )
  }
}

/**
 * Declares a statement without rows back (ALTER, OPTIMIZE, INSERT … SELECT); `settings` are the
 * engine settings it runs with (e.g. `mutations_sync` for an ALTER … UPDATE waited for).
 */
export function defineCommand<Params extends z.ZodType>(spec: {
  name: string
  connection?: Connection
  params: Params
  sql: (database: string, params: z.output<Params>) => string
  bind?: (params: z.output<Params>) => Record<string, unknown>
  settings?: (params: z.output<Params>) => ClickHouseSettings
  /** A failure's message prefix when it says more than `name`. */
  what?: (params: z.output<Params>) => string
}): (clickhouse: ClickHouse, params: z.input<Params>) => Promise<void> {
  const connection = spec.connection ?? 'writer'
  return async (clickhouse, input) => {
    const params = checked(spec.name, spec.params, input)
    await traced(
      { name: spec.name, kind: 'command', connection },
      () =>
        clientOf(clickhouse, connection).command({
          query: spec.sql(clickhouse.database, params),
          query_params: spec.bind ? spec.bind(params) : (params as Record<string, unknown>),
          ...(spec.settings ? { clickhouse_settings: spec.settings(params) } : {}),
        }),
      () => 0,
      () => spec.what?.(params) ?? spec.name,
    )
  }
}

/**
 * Declares an insert into `table` as TabSeparated text of `columns` (src/tab-separated.ts),
 * through `ClickHouse.insertTabSeparated` on the write path: the hot path's inserts (events,
 * outcomes), where the engine parses it faster than JSONEachRow. No rows, no insert.
 */
export function defineTabSeparatedInsert<Row>(spec: {
  name: string
  table: string
  columns: TsvColumns<Row>
  /** A failure's message prefix when it says more than `name`. */
  what?: (rows: readonly Row[]) => string
}): (clickhouse: ClickHouse, rows: readonly Row[]) => Promise<void> {
  const names = spec.columns.map(([column]) => column)
  const fields = spec.columns.map(([, field]) => field)
  return async (clickhouse, rows) => {
    if (rows.length === 0) return
    await traced(
      { name: spec.name, kind: 'insert', connection: 'writer' },
      () =>
        clickhouse.insertTabSeparated(`${clickhouse.database}.${spec.table}`, names, tsvRows(rows, fields)),
      () => rows.length,
      () => spec.what?.(rows) ?? spec.name,
    )
  }
}
