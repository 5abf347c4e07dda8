import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineQuery } from '../query.ts'

// A customer's value ledger: the `value.credited` events naming the customer, each identity
// (source, id) once however often it was stored, summed per kind and unit, and listed newest
// first a page at a time. Every stored credit counts, late ones included: the ledger is the
// customer's record, not a window's rate (that is the value_delivered CPI's).

export interface CustomerValueQuery {
  customerId: string
  /** Credits at or after (ms); none: from the start of the relationship. */
  from?: number | undefined
  /** Credits before (ms); none: up to the newest. */
  to?: number | undefined
  kind?: string | undefined
}

export interface CustomerValueTotal {
  kind: string
  unit: string
  amount: number
  /** What was promised, over the credits with a promise. */
  promised: number
  credits: number
  creditsWithPromise: number
  /** Credits with a promise whose amount reached it. */
  metPromise: number
  firstAt: number
  lastAt: number
}

export interface CustomerCredit {
  id: string
  source: string
  at: number
  kind: string
  amount: number
  unit: string
  promised: number | null
  period: string | null
}

const rangeParams = z.object({
  customerId: z.string().min(1),
  from: z.number().int().optional(),
  to: z.number().int().optional(),
  kind: z.string().optional(),
})

/** The parameters as placeholders take them: those left out are not in the SQL either. */
const defined = (params: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined))

/** One row per credit of the customer (each identity once), with its fields read from the payload. */
const credits = (database: string, params: z.output<typeof rangeParams>) => `
    SELECT id, source, toUnixTimestamp64Milli(any(time)) AS at,
           any(JSONExtractString(payload, 'data', 'kind')) AS kind,
           any(JSONExtractString(payload, 'data', 'unit')) AS unit,
           any(JSONExtractFloat(payload, 'data', 'amount')) AS credited,
           any(JSONHas(payload, 'data', 'promised')) AS has_promise,
           any(JSONExtractFloat(payload, 'data', 'promised')) AS promise,
           any(JSONExtractString(payload, 'data', 'period')) AS period
    FROM ${database}.events
    WHERE customer_id = {customerId:String} AND type = 'value.credited'
      ${params.from === undefined ? '' : `AND time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')`}
      ${params.to === undefined ? '' : `AND time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`}
    GROUP BY source, id
    ${params.kind === undefined ? '' : 'HAVING kind = {kind:String}'}`

const totalsQuery = defineQuery({
  name: "reading a customer's credited value",
  params: rangeParams,
  sql: (database, params) => `
    SELECT kind, unit, round(sum(credited), 6) AS amount, round(sumIf(promise, has_promise = 1), 6) AS promised,
           count() AS credits, countIf(has_promise = 1) AS with_promise,
           countIf(has_promise = 1 AND credited >= promise) AS met_promise,
           min(at) AS first_at, max(at) AS last_at
    FROM (${credits(database, params)})
    GROUP BY kind, unit
    ORDER BY kind, unit`,
  bind: defined,
  row: (row) => ({
    kind: String(row.kind),
    unit: String(row.unit),
    amount: Number(row.amount),
    promised: Number(row.promised),
    credits: Number(row.credits),
    creditsWithPromise: Number(row.with_promise),
    metPromise: Number(row.met_promise),
    firstAt: Number(row.first_at),
    lastAt: Number(row.last_at),
  }),
})

const pageQuery = defineQuery({
  name: "reading a page of a customer's credits",
  params: rangeParams.extend({
    limit: z.number().int().min(1).max(1000),
    /** Credits before this one (newest first): its time and id. */
    beforeAt: z.number().int().optional(),
    beforeId: z.string().optional(),
  }),
  sql: (database, params) => `
    SELECT id, source, at, kind, unit, credited, has_promise, promise, period
    FROM (${credits(database, params)})
    ${params.beforeAt === undefined ? '' : 'WHERE at < {beforeAt:Int64} OR (at = {beforeAt:Int64} AND id < {beforeId:String})'}
    ORDER BY at DESC, id DESC
    LIMIT {limit:UInt32}`,
  bind: (params) =>
    defined({ ...params, beforeId: params.beforeAt === undefined ? undefined : (params.beforeId ?? '') }),
  row: (row): CustomerCredit => ({
    id: String(row.id),
    source: String(row.source),
    at: Number(row.at),
    kind: String(row.kind),
    amount: Number(row.credited),
    unit: String(row.unit),
    promised: Number(row.has_promise) === 1 ? Number(row.promise) : null,
    period: row.period === '' || row.period === undefined ? null : String(row.period),
  }),
})

const knownQuery = defineQuery({
  name: 'finding whether any event names a customer',
  params: z.object({ customerId: z.string().min(1) }),
  sql: (database) =>
    `SELECT count() AS found FROM (SELECT 1 FROM ${database}.events WHERE customer_id = {customerId:String} LIMIT 1)`,
  row: (row) => Number(row.found) > 0,
})

/** The customer's credited value per kind and unit over the range, kinds and units in order. */
export const queryCustomerValueTotals = (clickhouse: ClickHouse, query: CustomerValueQuery) =>
  totalsQuery(clickhouse, query)

/** A page of the customer's credits, newest first, before the given one (time and id) if any. */
export const queryCustomerCredits = (
  clickhouse: ClickHouse,
  query: CustomerValueQuery & { limit: number; before?: { at: number; id: string } | undefined },
) =>
  pageQuery(clickhouse, {
    customerId: query.customerId,
    from: query.from,
    to: query.to,
    kind: query.kind,
    limit: query.limit,
    ...(query.before ? { beforeAt: query.before.at, beforeId: query.before.id } : {}),
  })

/** Whether any stored event (of any type) names this customer. */
export const isKnownCustomer = async (clickhouse: ClickHouse, customerId: string): Promise<boolean> =>
  (await knownQuery(clickhouse, { customerId }))[0] ?? false
