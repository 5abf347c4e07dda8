import { createLogger } from '@cpi/logger'
import { createHttpServer } from '@cpi/runtime'
import { valueKinds } from '@cpi/schemas'
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { customerValueRoute } from './customers.routes.ts'
import { apiDocument } from './openapi-document.ts'
import { decodeCursor, encodeCursor } from './params.ts'
import { serve } from './route.ts'

// Pure: the embedded engine is not loaded; the route's queries are stand-ins that record what
// the route asked for.
const clickhouse = vi.hoisted(() => ({
  queryCustomerValueTotals: vi.fn(),
  queryCustomerCredits: vi.fn(),
  isKnownCustomer: vi.fn(),
}))
vi.mock('@cpi/clickhouse', () => clickhouse)

const logger = createLogger({ service: 'test', level: 'silent' })
const NOW = Date.parse('2026-11-22T10:00:00Z')
const credit = (id: string, source: string, at = NOW - 60_000) => ({
  id,
  source,
  subject: id,
  at,
  kind: 'savings',
  amount: 10,
  unit: 'EUR',
  promised: 8,
  period: null,
})

let http: FastifyInstance
beforeEach(async () => {
  clickhouse.queryCustomerValueTotals.mockReset().mockResolvedValue([])
  clickhouse.queryCustomerCredits.mockReset().mockResolvedValue([])
  clickhouse.isKnownCustomer.mockReset().mockResolvedValue(true)
  // The server every process uses: its router limits are part of what is tested.
  http = createHttpServer(logger)
  serve(http, customerValueRoute({ clickhouse: {} as never, now: () => NOW }))
  await http.ready()
})
afterEach(async () => {
  await http.close()
})

const get = (url: string) => http.inject({ method: 'GET', url })

describe('GET /v1/customers/:id/value', () => {
  it('hands an id of 256 characters to the handler, also percent-encoded', async () => {
    for (const id of ['c'.repeat(256), 'ü'.repeat(256), '€'.repeat(256)]) {
      const answer = await get(`/v1/customers/${encodeURIComponent(id)}/value`)
      expect(answer.statusCode, id.slice(0, 1)).toBe(200)
      expect(answer.json().customerId).toBe(id)
      expect(clickhouse.queryCustomerValueTotals).toHaveBeenLastCalledWith(
        expect.anything(),
        expect.objectContaining({ customerId: id }),
      )
    }
  })

  it('answers an id of 257 characters with its own 400 naming id, not the router’s 414', async () => {
    const answer = await get(`/v1/customers/${'c'.repeat(257)}/value`)
    expect(answer.statusCode).toBe(400)
    expect(answer.json()).toEqual({
      error: 'bad_request',
      message: 'id: expected a customer id of 1 to 256 characters, got a longer one',
      details: [
        { parameter: 'id', message: 'expected a customer id of 1 to 256 characters, got a longer one' },
      ],
    })
    expect(clickhouse.queryCustomerValueTotals).not.toHaveBeenCalled()
  })

  it('answers a crafted cursor (a time past the safe integers) with a 400 naming cursor, before any query', async () => {
    const cursor = Buffer.from(JSON.stringify([1e20, 'billing', 'credit-1', 'credit-1'])).toString(
      'base64url',
    )
    const answer = await get(`/v1/customers/alice/value?cursor=${cursor}`)
    expect(answer.statusCode).toBe(400)
    expect(answer.json().details).toEqual([
      { parameter: 'cursor', message: `expected the nextCursor of a previous answer, got "${cursor}"` },
    ])
    expect(clickhouse.queryCustomerCredits).not.toHaveBeenCalled()
  })

  it('gives as nextCursor the last credit’s full position (time, source, id, subject), and reads it back', async () => {
    const shown = credit('credit-1', 'shop')
    clickhouse.queryCustomerCredits.mockResolvedValue([shown, credit('credit-1', 'billing')])
    const first = await get('/v1/customers/alice/value?limit=1')
    expect(first.statusCode).toBe(200)
    const next = first.json().nextCursor as string
    expect(decodeCursor(next)).toEqual({ at: shown.at, source: 'shop', id: 'credit-1', subject: 'credit-1' })
    expect(next).toBe(encodeCursor(shown))
    clickhouse.queryCustomerCredits.mockResolvedValue([credit('credit-1', 'billing')])
    const second = await get(`/v1/customers/alice/value?limit=1&cursor=${next}`)
    expect(second.json().nextCursor).toBeNull()
    expect(clickhouse.queryCustomerCredits).toHaveBeenLastCalledWith(
      expect.anything(),
      expect.objectContaining({
        limit: 2,
        before: { at: shown.at, source: 'shop', id: 'credit-1', subject: 'credit-1' },
      }),
    )
  })

  it('takes a kind of the event contract only', async () => {
    expect((await get('/v1/customers/alice/value?kind=outcome')).statusCode).toBe(200)
    const answer = await get('/v1/customers/alice/value?kind=gifts')
    expect(answer.statusCode).toBe(400)
    expect(answer.json().details).toEqual([
      { parameter: 'kind', message: 'expected one of savings, usage, outcome, got "gifts"' },
    ])
  })

  it('documents kind as the event contract’s kinds, and a 400 for a bad id', () => {
    // biome-ignore lint/suspicious/noExplicitAny: reading into the document's JSON
    const operation = (apiDocument().paths as any)['/v1/customers/{id}/value'].get
    const kind = operation.parameters.find((parameter: { name: string }) => parameter.name === 'kind')
    expect(kind.schema).toEqual({ type: 'string', enum: [...valueKinds] })
    expect(Object.keys(operation.responses)).toContain('400')
  })
})
