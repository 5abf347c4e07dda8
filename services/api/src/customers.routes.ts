import {
  type ClickHouse,
  isKnownCustomer,
  queryCustomerCredits,
  queryCustomerValueTotals,
} from '@cpi/clickhouse'
import { valueKinds } from '@cpi/schemas'
import { z } from 'zod'
import { customerValueQuery, encodeCursor } from './params.ts'
import { defineRoute } from './route.ts'
import { CustomerValue, Problem } from './schemas.ts'

// The customer's side of the ledger: what the company delivered to one customer over the
// relationship (`value.credited` events), where the value_delivered CPI says how often credits
// reached their promise across all customers.

const iso = (ms: number) => new Date(ms).toISOString()

/** `GET /v1/customers/:id/value`: a customer's credited value per kind and unit, and a page of the credits. */
export function customerValueRoute(options: { clickhouse: ClickHouse; now: () => number }) {
  const { clickhouse } = options
  return defineRoute({
    method: 'GET',
    url: '/v1/customers/:id/value',
    operationId: 'customerValue',
    summary:
      'The value credited to one customer over the relationship (savings, usage, outcomes): totals per kind and unit with what was promised, and the credits newest first, a page at a time.',
    description:
      'A customer no stored event names is 404 `not_found`; a known customer with no credit in the range is 200 with `credits: 0` and empty `totals`. With `CPI_PSEUDONYMIZE_KEY` set, events store pseudonyms: pass the pseudonym (`p_…`); the API holds no key and never sees clear ids. Each credit counts once, as the copy the processor counts (the first accepted); credits stored too late are listed and summed here but left out of the value_delivered CPI. An id longer than 256 characters is 400 naming `id`.',
    params: z.object({
      id: z
        .string()
        .min(1, { error: 'expected a customer id of 1 to 256 characters, got an empty one' })
        .max(256, { error: 'expected a customer id of 1 to 256 characters, got a longer one' })
        .describe('The customer id as events carry it in `data.customerId`.'),
    }),
    // An id of the wrong length is a malformed request (400 naming `id`), not an unknown customer.
    badParams: 'bad_request',
    query: customerValueQuery(valueKinds, options.now),
    responses: {
      200: { description: 'The customer’s value.', schema: CustomerValue },
      404: { description: 'No stored event names this customer.', schema: Problem },
    },
    handler: async ({ params, query }, _request, reply) => {
      const range = { customerId: params.id, from: query.from, to: query.to, kind: query.kind }
      const [totals, page] = await Promise.all([
        queryCustomerValueTotals(clickhouse, range),
        queryCustomerCredits(clickhouse, { ...range, limit: query.limit + 1, before: query.before }),
      ])
      if (totals.length === 0 && !(await isKnownCustomer(clickhouse, params.id)))
        return reply.code(404).send({
          error: 'not_found',
          message: `no stored event names customer ${JSON.stringify(params.id)}`,
        })
      const shown = page.slice(0, query.limit)
      const last = shown.at(-1)
      const credited = totals.flatMap((total) => [total.firstAt, total.lastAt])
      return {
        customerId: params.id,
        from: query.from === undefined ? null : iso(query.from),
        to: query.to === undefined ? null : iso(query.to),
        kind: query.kind ?? null,
        credits: totals.reduce((sum, total) => sum + total.credits, 0),
        firstCreditedAt: credited.length === 0 ? null : iso(Math.min(...credited)),
        lastCreditedAt: credited.length === 0 ? null : iso(Math.max(...credited)),
        totals: totals.map(({ firstAt: _first, lastAt: _last, ...total }) => ({
          ...total,
          ratio: total.creditsWithPromise === 0 ? null : total.metPromise / total.creditsWithPromise,
        })),
        recent: shown.map((credit) => ({
          id: credit.id,
          source: credit.source,
          creditedAt: iso(credit.at),
          kind: credit.kind,
          amount: credit.amount,
          unit: credit.unit,
          promised: credit.promised,
          period: credit.period,
        })),
        nextCursor: page.length > query.limit && last ? encodeCursor(last) : null,
      }
    },
  })
}
