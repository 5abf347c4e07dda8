import { readFileSync } from 'node:fs'
import type { StoredAlert } from '@cpi/clickhouse'
import { type CpiDefinition, loadCatalog } from '@cpi/cpi-core'
import { createLogger } from '@cpi/logger'
import { Ajv2020 } from 'ajv/dist/2020.js'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { registerAnalyticsRoutes } from './analytics.routes.ts'
import { registerApiRoutes } from './api.routes.ts'
import { alertView, type Freshness, type LiveState } from './live.ts'
import { apiDocument, apiDocumentText, committedDocumentFile, formatJson } from './openapi-document.ts'
import { registerStream } from './stream.ts'
import { summarize } from './summaries.ts'

// Pure: the store's reads answer from fixtures shaped as the real ones (the real module loads
// the embedded engine).
vi.mock('@cpi/clickhouse', () => {
  const NOW = Date.parse('2026-11-22T10:00:00Z')
  const arm = (variant: string, good: number, kpi: number) => ({
    experiment: 'fastquote-routing',
    variant,
    cpi: 'fast_quote',
    good,
    total: 400,
    kpiSuccesses: kpi,
    kpiTrials: 400,
    conflicting: 1,
    kpiFollowUpComplete: 380,
    cpiSequence: '10'.repeat(200),
    kpiSequence: '1000'.repeat(100),
  })
  return {
    wholeMinutes: (from: number, to: number) => ({ from, to }),
    queryCpiSeries: async () => [],
    listSilences: async () => [
      {
        id: 's1',
        matchers: [{ name: 'cpi', value: 'fast_quote', isRegex: false }],
        startsAt: NOW - 3_600_000,
        endsAt: NOW + 3_600_000,
        createdBy: 'ops',
        comment: 'carrier outage',
      },
    ],
    queryBreaching: async () => ({
      total: 1,
      interactions: [
        {
          cpi: 'fast_quote',
          subject: 'q-1',
          startedAt: NOW - 600_000,
          deadline: NOW + 60_000,
          now: NOW,
          segments: { channel: 'web' },
        },
      ],
      counts: [{ cpi: 'fast_quote', dimension: 'all', value: 'all', count: 1 }],
    }),
    queryPerception: async () => [
      {
        cpi: 'fast_quote',
        group: 'met',
        interactions: 900,
        responded: 300,
        csat: [5, 10, 30, 100, 155],
        nps: [5, 5, 5, 5, 5, 5, 20, 40, 60, 70, 80],
        ces: [100, 80, 50, 30, 20, 10, 10],
      },
      {
        cpi: 'fast_quote',
        group: 'missed',
        interactions: 100,
        responded: 60,
        csat: [10, 10, 10, 20, 10],
        nps: [10, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5],
        ces: [5, 5, 10, 10, 10, 10, 10],
      },
    ],
    queryLinkage: async () => [
      { group: 'intact', trials: 500, successes: 200, followUpComplete: 450 },
      { group: 'broken', trials: 50, successes: 10, followUpComplete: 40 },
    ],
    queryExperimentArms: async () => [arm('control', 200, 80), arm('b', 240, 100)],
  }
})

const NOW = Date.parse('2026-11-22T10:00:00Z')
const logger = createLogger({ service: 'test', level: 'silent' })

let catalog: CpiDefinition[]
let http: FastifyInstance | undefined
beforeAll(async () => {
  catalog = await loadCatalog()
})
afterEach(async () => {
  await http?.close()
  http = undefined
})

/** The live state's reads, answered from summaries and alerts made by the real functions. */
function fixtureLive(): LiveState {
  const point = (start: number, good: number) => ({
    windowStart: new Date(start).toISOString(),
    good,
    total: 100,
    pending: 3,
    ratio: good / 100,
    p50: 1200,
    p90: 5000,
    p99: null,
    status: 'provisional' as const,
  })
  const cpis = catalog.map((definition) =>
    summarize(definition, [point(NOW - 3_600_000, 97), point(NOW - 7_200_000, 91)], {
      asOf: NOW,
      windowMs: 3_600_000,
      count: 24,
      firing: 1,
      pageFiring: false,
      lagging: ['csat'],
    }),
  )
  const stored: StoredAlert = {
    fingerprint: 'f1',
    seq: 2,
    state: 'firing',
    previousState: 'pending',
    labels: { alertname: 'CpiBurnRate', cpi: 'fast_quote', severity: 'page' },
    annotations: { summary: 'Fast quote burns its budget' },
    activeSince: NOW - 600_000,
    firedAt: NOW - 300_000,
    resolvedAt: null,
    value: 20,
    threshold: 14.4,
    evaluatedAt: NOW,
    notify: true,
    silencedBy: [],
    receivers: [],
  }
  const freshness: Freshness = {
    now: new Date(NOW).toISOString(),
    watermark: new Date(NOW - 1000).toISOString(),
    alertingWatermark: new Date(NOW - 2000).toISOString(),
    freshnessMs: 1000,
    partitions: [{ topic: 'events', partition: 0, watermark: 'x', maxEventTime: 'x', updatedAt: 'x' }].map(
      (p) => ({ ...p, watermark: freshnessTime, maxEventTime: freshnessTime, updatedAt: freshnessTime }),
    ),
    stalled: [{ topic: 'events', partition: 1, watermark: freshnessTime, since: freshnessTime }],
    consumerLag: 12,
    beyondHorizon: { events: 0, latestAt: null },
  }
  const windows = new Map(catalog.map((definition) => [definition.name, [point(NOW - 86_400_000, 95)]]))
  return {
    snapshot: async () => ({ asOf: NOW, cpis, alerts: [], freshness }),
    alerts: async () => [alertView(stored, ['s1'])],
    freshness: async () => freshness,
    windows: async () => ({ asOf: NOW, byCpi: windows }),
  } as unknown as LiveState
}
const freshnessTime = '2026-11-22T09:59:59.000Z'

/** Every route group on one server, on the built-in catalog and the fixtures. */
async function fixtureServer() {
  http = Fastify()
  const live = fixtureLive()
  registerApiRoutes(http, { clickhouse: {} as never, catalog, live, now: () => NOW })
  registerAnalyticsRoutes(http, {
    clickhouse: {} as never,
    catalog,
    live,
    eventsTopic: 'events',
    now: () => NOW,
  })
  const stream = registerStream(http, { live, intervalMs: 1000, logger })
  http.addHook('preClose', async () => stream.stop())
  await http.ready()
  return http
}

describe('the OpenAPI document', () => {
  it('is committed as docs/openapi.json exactly as the declarations write it (npm run openapi)', () => {
    const committed = readFileSync(committedDocumentFile, 'utf8')
    expect(committed, 'docs/openapi.json is not what the routes declare: run `npm run openapi`').toBe(
      apiDocumentText(),
    )
  })

  it('is served at /v1/openapi.json as committed, whatever the catalog', async () => {
    const response = await (await fixtureServer()).inject({ method: 'GET', url: '/v1/openapi.json' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual(apiDocument())
  })

  it('describes each answer as the routes give it (checked against their real answers)', async () => {
    const server = await fixtureServer()
    const document = apiDocument()
    const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false })
    ajv.addSchema(document, 'api')
    const requests: [string, string][] = [
      ['/v1/cpis', '/v1/cpis'],
      ['/v1/cpis/{name}', '/v1/cpis/fast_quote?step=5m'],
      ['/v1/alerts', '/v1/alerts?state=all'],
      ['/v1/silences', '/v1/silences'],
      ['/v1/freshness', '/v1/freshness'],
      ['/v1/breaching', '/v1/breaching'],
      ['/v1/alert-rules', '/v1/alert-rules'],
      ['/v1/analytics/perception', '/v1/analytics/perception'],
      ['/v1/analytics/linkage', '/v1/analytics/linkage'],
      ['/v1/analytics/experiments', '/v1/analytics/experiments'],
      ['/v1/analytics/index', '/v1/analytics/index'],
      ['/v1/analytics/scorecards', '/v1/analytics/scorecards'],
    ]
    for (const [path, url] of requests) {
      const response = await server.inject({ method: 'GET', url })
      expect(response.statusCode, `${url}: ${response.body}`).toBe(200)
      const pointer = `api#/paths/${path.replaceAll('/', '~1')}/get/responses/200/content/application~1json/schema`
      const validate = ajv.getSchema(pointer)
      expect(validate, pointer).toBeDefined()
      const valid = validate?.(response.json())
      expect(valid ? [] : validate?.errors, url).toEqual([])
    }
    const bad = await server.inject({ method: 'GET', url: '/v1/cpis?window=2s' })
    expect(ajv.validate('api#/components/schemas/Problem', bad.json())).toBe(true)
  })

  it('takes every declared parameter name, type and requiredness from the zod schemas', () => {
    const series = apiDocument().paths['/v1/cpis/{name}']?.get as { parameters: Record<string, unknown>[] }
    expect(series.parameters.map((parameter) => [parameter.name, parameter.in, parameter.required])).toEqual([
      ['name', 'path', true],
      ['from', 'query', false],
      ['to', 'query', false],
      ['step', 'query', false],
      ['by', 'query', false],
      ['where', 'query', false],
    ])
    const breaching = apiDocument().paths['/v1/breaching']?.get as { parameters: { schema: unknown }[] }
    expect(breaching.parameters[2]?.schema).toEqual({
      default: 100,
      type: 'integer',
      minimum: 1,
      maximum: 1000,
    })
  })
})

describe('formatJson', () => {
  it('puts an object member a line and a flat array on one line while it fits', () => {
    expect(formatJson({ a: [1, 'b'], b: {}, c: [] })).toBe('{\n  "a": [1, "b"],\n  "b": {},\n  "c": []\n}')
    const long = Array.from({ length: 30 }, (_, index) => `item${index}`)
    expect(formatJson({ long }).split('\n')).toHaveLength(long.length + 4)
    expect(formatJson([{ a: 1 }])).toBe('[\n  {\n    "a": 1\n  }\n]')
  })
})
