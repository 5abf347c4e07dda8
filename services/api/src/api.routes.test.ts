import { type CpiDefinition, importOpenSlo, loadCatalog, parseCatalog } from '@cpi/cpi-core'
import { createLogger } from '@cpi/logger'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { registerAnalyticsRoutes } from './analytics.routes.ts'
import { registerApiRoutes } from './api.routes.ts'
import type { LiveState } from './live.ts'
import { apiDocument } from './openapi-document.ts'
import { registerStream } from './stream.ts'

// Pure: the real module loads the embedded engine (a native addon that crashes worker threads
// on exit); every query helper the routes import fails the test if it is reached.
vi.mock('@cpi/clickhouse', () => {
  const unreachable = (name: string) => () => {
    throw new Error(`${name} was called`)
  }
  return {
    listSilences: unreachable('listSilences'),
    queryBreaching: unreachable('queryBreaching'),
    queryCpiTotals: unreachable('queryCpiTotals'),
    queryCpiSeries: unreachable('queryCpiSeries'),
    upsertSilence: unreachable('upsertSilence'),
    queryPerception: unreachable('queryPerception'),
    queryLinkage: unreachable('queryLinkage'),
    queryExperimentArms: unreachable('queryExperimentArms'),
  }
})

const logger = createLogger({ service: 'test', level: 'silent' })
const NOW = Date.parse('2026-11-22T10:00:00Z')

/** An object whose every method throws: reaching ClickHouse or the live state is a failure here. */
function untouchable<T>(what: string, allowed: Partial<T> = {}): T {
  return new Proxy(allowed as object, {
    get(target, property) {
      if (property in target) return (target as Record<PropertyKey, unknown>)[property]
      if (property === 'then') return undefined
      return () => {
        throw new Error(`${what}.${String(property)} was called`)
      }
    },
  }) as T
}

let http: FastifyInstance | undefined
afterEach(async () => {
  await http?.close()
  http = undefined
})

describe('the OpenAPI document and the routes', () => {
  it('documents exactly the /v1 routes the service registers', async () => {
    http = Fastify()
    const routes: string[] = []
    http.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      for (const method of methods)
        if (method !== 'HEAD' && route.url.startsWith('/v1/')) routes.push(`${method} ${route.url}`)
    })
    registerApiRoutes(http, { clickhouse: {} as never, catalog: [], live: {} as never })
    registerAnalyticsRoutes(http, {
      clickhouse: {} as never,
      catalog: [],
      live: {} as never,
      eventsTopic: 'events',
    })
    const stream = registerStream(http, { live: {} as never, intervalMs: 1000, logger })
    await http.ready()
    stream.stop()

    const documented = Object.entries(apiDocument().paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    )
    expect([...routes].sort()).toEqual([...documented].sort())
    // Not vacuous: both sides hold the operations the API is known for.
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /v1/cpis',
        'GET /v1/cpis/:name',
        'GET /v1/stream',
        'POST /v1/silences',
        'DELETE /v1/silences/:id',
        'GET /v1/analytics/experiments',
        'GET /v1/analytics/index',
      ]),
    )
    expect(new Set(routes).size).toBe(routes.length)
  })

  it('gives each operation a unique operationId and each path parameter a declaration', () => {
    const operations = Object.entries(apiDocument().paths).flatMap(([path, methods]) =>
      Object.values(methods).map((operation) => ({ path, operation: operation as Record<string, unknown> })),
    )
    const ids = operations.map(({ operation }) => operation.operationId)
    expect(new Set(ids).size).toBe(operations.length)
    for (const { path, operation } of operations) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1])
      const declared = ((operation.parameters ?? []) as { name: string; in: string }[])
        .filter((parameter) => parameter.in === 'path')
        .map((parameter) => parameter.name)
      expect(declared, path).toEqual(inPath)
    }
  })
})

describe('the API routes', () => {
  let catalog: CpiDefinition[]
  beforeAll(async () => {
    catalog = await loadCatalog()
  })

  async function api(live: LiveState = untouchable<LiveState>('live')) {
    http = Fastify()
    registerApiRoutes(http, {
      clickhouse: untouchable('clickhouse'),
      catalog,
      live,
      now: () => NOW,
    })
    await http.ready()
    return http
  }

  it('serves the OpenAPI document', async () => {
    const response = await (await api()).inject({ method: 'GET', url: '/v1/openapi.json' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    const body = response.json()
    expect(body.openapi).toBe('3.1.0')
    expect(Object.keys(body.paths)).toContain('/v1/cpis/{name}')
  })

  it('answers 404 for a CPI outside the catalog, naming the catalog', async () => {
    const response = await (await api()).inject({ method: 'GET', url: '/v1/cpis/unknown' })
    expect(response.statusCode).toBe(404)
    const body = response.json()
    expect(body.error).toBe('not_found')
    expect(body.message).toMatch(/got "unknown"$/)
    for (const definition of catalog) expect(body.message).toContain(definition.name)
    expect(body.message).toContain('fast_quote, on_time_in_full')
  })

  it('serves a CPI as OpenSLO documents that import back to it, and 404 for one outside the catalog', async () => {
    const server = await api()
    const response = await server.inject({ method: 'GET', url: '/v1/cpis/fast_quote/openslo' })
    expect(response.statusCode).toBe(200)
    const documents = response.json()
    expect(
      documents.map((document: { kind: string; metadata: { name: string } }) => document.metadata.name),
    ).toEqual(['fast-quote-sli', 'fast-quote'])
    const catalog = await loadCatalog()
    expect(parseCatalog({ cpis: importOpenSlo(documents) })).toEqual(
      catalog.filter((definition) => definition.name === 'fast_quote'),
    )
    const unknown = await server.inject({ method: 'GET', url: '/v1/cpis/unknown/openslo' })
    expect(unknown.statusCode).toBe(404)
  })

  it('answers 400 naming window before reading anything', async () => {
    const response = await (await api()).inject({ method: 'GET', url: '/v1/cpis?window=2s' })
    expect(response.statusCode).toBe(400)
    const body = response.json()
    expect(body.error).toBe('bad_request')
    expect(body.details).toHaveLength(1)
    expect(body.details[0].parameter).toBe('window')
    expect(body.message).toMatch(/^window: expected a duration from 1m to 30d .*, got "2s"$/)
  })

  it('answers 400 naming each bad series parameter before querying ClickHouse', async () => {
    const response = await (await api()).inject({
      method: 'GET',
      url: '/v1/cpis/fast_quote?from=yesterday&step=1x&by=colour&where=carrier:ups',
    })
    expect(response.statusCode).toBe(400)
    const body = response.json()
    expect(body.details.map((detail: { parameter: string }) => detail.parameter).sort()).toEqual([
      'by',
      'from',
      'step',
      'where',
    ])
    // The message joins them as `parameter: message`.
    expect(body.message.split('; ')).toHaveLength(4)
    expect(body.message).toContain(
      `by: expected one of the CPI's dimensions: channel, region, product, customerType, got "colour"`,
    )
  })

  it('answers 400 for an unknown alert state', async () => {
    const response = await (await api()).inject({ method: 'GET', url: '/v1/alerts?state=open' })
    expect(response.statusCode).toBe(400)
    expect(response.json().details).toEqual([
      { parameter: 'state', message: 'expected one of active, firing, pending, resolved, all, got "open"' },
    ])
  })

  it('lists the catalog from a snapshot of the window asked for', async () => {
    const windows: number[] = []
    const live = untouchable<LiveState>('live', {
      snapshot: async (windowMs = 3_600_000) => {
        windows.push(windowMs)
        return { asOf: NOW, cpis: [], alerts: [], freshness: {} as never }
      },
    })
    const server = await api(live)
    const response = await server.inject({ method: 'GET', url: '/v1/cpis?window=15m' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ asOf: '2026-11-22T10:00:00.000Z', window: '15m', cpis: [] })
    const fallback = await server.inject({ method: 'GET', url: '/v1/cpis' })
    expect(fallback.json().window).toBe('1h')
    expect(windows).toEqual([15 * 60_000, 3_600_000])
  })

  it('maps the alert state filter to the stored states', async () => {
    const asked: unknown[] = []
    const live = untouchable<LiveState>('live', {
      alerts: async (filter) => {
        asked.push(filter)
        return []
      },
    })
    const server = await api(live)
    for (const state of ['', 'firing', 'resolved', 'all'])
      expect(
        (await server.inject({ method: 'GET', url: `/v1/alerts${state ? `?state=${state}` : ''}` })).json(),
      ).toEqual({ alerts: [] })
    expect(asked).toEqual([
      { states: ['pending', 'firing'] },
      { states: ['firing'] },
      { states: ['resolved'] },
      { states: [] },
    ])
  })
})
