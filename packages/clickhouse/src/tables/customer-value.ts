import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineQuery } from '../query.ts'

// A customer's value ledger: the `value.credited` events naming the customer, summed per kind
// and unit, and listed newest first a page at a time. Each identity (subject, source, id) counts
// once, as the copy the processor counts: the first accepted, the earliest Kafka position (by
// offset, then partition), whatever other copies were stored. Copies stored too late (beyond the
// processor's revision horizon) are listed and summed here but left out of the value_delivered
// CPI: the ledger is the customer's record, not a window's rate.

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
  /** The interaction the event names (CloudEvents `subject`): with source and id, its identity. */
  subject: string
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

/** A field of the copy the processor counts: the one at the earliest Kafka position (offset, then partition). */
const firstCopy = (expression: string, alias: string) =>
  `argMin(${expression}, (kafka_offset, kafka_partition)) AS ${alias}`

/**
 * One row per credit of the customer (each identity once, as its first accepted copy), in the
 * range and of the kind asked. The range and kind apply to that copy, after it is picked: a
 * later copy never stands in for it.
 */
const credits = (database: string, params: z.output<typeof rangeParams>) => {
  const conditions = [
    params.from === undefined ? '' : 'at >= {from:Int64}',
    params.to === undefined ? '' : 'at < {to:Int64}',
    params.kind === undefined ? '' : 'kind = {kind:String}',
  ].filter((condition) => condition !== '')
  return `
    SELECT * FROM (
      SELECT subject, source, id,
             ${firstCopy('toUnixTimestamp64Milli(time)', 'at')},
             ${firstCopy("JSONExtractString(payload, 'data', 'kind')", 'kind')},
             ${firstCopy("JSONExtractString(payload, 'data', 'unit')", 'unit')},
             ${firstCopy("JSONExtractFloat(payload, 'data', 'amount')", 'credited')},
             ${firstCopy("JSONHas(payload, 'data', 'promised')", 'has_promise')},
             ${firstCopy("JSONExtractFloat(payload, 'data', 'promised')", 'promise')},
             ${firstCopy("JSONExtractString(payload, 'data', 'period')", 'period')}
      FROM ${database}.events
      WHERE customer_id = {customerId:String} AND type = 'value.credited'
      GROUP BY subject, source, id
    )
    ${conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`}`
}

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
    /** Credits after this one in the order (time, source, id, subject, each descending). */
    before: z
      .object({ at: z.number().int(), source: z.string(), id: z.string(), subject: z.string() })
      .optional(),
  }),
  // Newest first, and at one time by identity: a total order, so a page never loses or repeats
  // a credit that shares its time (and even its id) with another.
  sql: (database, params) => `
    SELECT subject, id, source, at, kind, unit, credited, has_promise, promise, period
    FROM (${credits(database, params)})
    ${
      params.before === undefined
        ? ''
        : 'WHERE (at, source, id, subject) < ({beforeAt:Int64}, {beforeSource:String}, {beforeId:String}, {beforeSubject:String})'
    }
    ORDER BY at DESC, source DESC, id DESC, subject DESC
    LIMIT {limit:UInt32}`,
  bind: ({ before, ...params }) =>
    defined({
      ...params,
      ...(before === undefined
        ? {}
        : {
            beforeAt: before.at,
            beforeSource: before.source,
            beforeId: before.id,
            beforeSubject: before.subject,
          }),
    }),
  row: (row): CustomerCredit => ({
    id: String(row.id),
    source: String(row.source),
    subject: String(row.subject),
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

/** A page of the customer's credits, newest first, after the given one in that order if any. */
export const queryCustomerCredits = (
  clickhouse: ClickHouse,
  query: CustomerValueQuery & {
    limit: number
    before?: { at: number; source: string; id: string; subject: string } | undefined
  },
) =>
  pageQuery(clickhouse, {
    customerId: query.customerId,
    from: query.from,
    to: query.to,
    kind: query.kind,
    limit: query.limit,
    before: query.before,
  })

/** Whether any stored event (of any type) names this customer. */
export const isKnownCustomer = async (clickhouse: ClickHouse, customerId: string): Promise<boolean> =>
  (await knownQuery(clickhouse, { customerId }))[0] ?? false
