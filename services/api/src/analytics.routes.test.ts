import { builtinKpiCatalog, type CpiDefinition, type KpiCatalog, loadCatalog } from '@cpi/cpi-core'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { registerAnalyticsRoutes } from './analytics.routes.ts'
import type { LiveState } from './live.ts'

// Pure: the real module loads the embedded engine. The analytics reads are fakes that record
// what they were asked and answer from `rows`.
const reads = vi.hoisted(() => ({
  asked: [] as { read: string; options: Record<string, unknown> }[],
  linkage: new Map<string, unknown[]>(),
  arms: [] as unknown[],
}))
vi.mock('@cpi/clickhouse', () => ({
  queryPerception: async (_clickhouse: unknown, options: Record<string, unknown>) => {
    reads.asked.push({ read: 'perception', options })
    return []
  },
  queryLinkage: async (_clickhouse: unknown, options: Record<string, unknown>) => {
    reads.asked.push({ read: 'linkage', options })
    return reads.linkage.get(String(options.cpi)) ?? []
  },
  queryExperimentArms: async (_clickhouse: unknown, options: Record<string, unknown>) => {
    reads.asked.push({ read: 'experiments', options })
    return reads.arms
  },
}))

const NOW = Date.parse('2026-11-22T10:00:00Z')

/** A built-in KPI by name. */
const builtinKpi = (name: string) => {
  const kpi = builtinKpiCatalog().kpis.find((entry) => entry.name === name)
  if (!kpi) throw new Error(`no built-in KPI ${name}`)
  return kpi
}
const DAY = 86_400_000

let catalog: CpiDefinition[]
let http: FastifyInstance | undefined
beforeAll(async () => {
  catalog = await loadCatalog()
})
beforeEach(() => {
  reads.asked.length = 0
  reads.linkage.clear()
  reads.arms = []
})
afterEach(async () => {
  await http?.close()
  http = undefined
})

/** The analytics routes on a fresh server, on the built-in catalogs unless told otherwise. */
async function analytics(options: { kpis?: KpiCatalog; live?: Partial<LiveState> } = {}) {
  http = Fastify()
  registerAnalyticsRoutes(http, {
    clickhouse: {} as never,
    catalog,
    live: (options.live ?? {}) as LiveState,
    eventsTopic: 'events',
    now: () => NOW,
    ...(options.kpis ? { kpis: options.kpis } : {}),
  })
  await http.ready()
  return http
}

/** A JSON GET that must answer 200. */
async function get(server: FastifyInstance, url: string) {
  const response = await server.inject({ method: 'GET', url })
  expect(response.statusCode, response.body).toBe(200)
  return response.json()
}

describe('the CPI → KPI linkage', () => {
  it('reports the built-in KPI catalog’s three links, in its order, each group in display order', async () => {
    reads.linkage.set('nothing_broke', [
      { group: 'broken', trials: 10, successes: 2, followUpComplete: 10 },
      { group: 'intact', trials: 100, successes: 40, followUpComplete: 90 },
    ])
    const body = await get(await analytics(), '/v1/analytics/linkage?from=now-7d&to=now')
    // Each link's KPI counted by its rule (which event, how long after) and grouped as the catalog says.
    expect(
      reads.asked.map(({ options }) => [
        options.cpi,
        (options.kpi as { event: string }).event,
        (options.kpi as { withinMs: number }).withinMs / DAY,
        Object.keys(options.grouping as object)[0],
      ]),
    ).toEqual([
      ['fast_quote', 'quote.accepted', 30, 'latency'],
      ['nothing_broke', 'order.placed', 90, 'outcome'],
      ['first_time_resolution', 'customer.churned', 90, 'outcome'],
    ])
    expect(reads.asked[0]?.options).toMatchObject({ from: NOW - 7 * DAY, to: NOW, topic: 'events' })
    expect(body.from).toBe(new Date(NOW - 7 * DAY).toISOString())
    expect(body.note).toMatch(/^Observational: /)
    expect(
      body.links.map((link: Record<string, unknown>) => ({
        name: link.name,
        cpi: link.cpi,
        kpi: link.kpi,
        groupedBy: link.groupedBy,
        higherIsBetter: link.higherIsBetter,
        observational: link.observational,
        groups: (link.groups as { group: string }[]).map((group) => group.group),
      })),
    ).toEqual([
      {
        name: 'quote_acceptance',
        cpi: 'fast_quote',
        kpi: 'quote accepted',
        groupedBy: 'time to answer the quote',
        higherIsBetter: true,
        observational: true,
        groups: ['≤30s', '30s–5m', '5m–1h', '>1h', 'never'],
      },
      {
        name: 'repeat_order_90d',
        cpi: 'nothing_broke',
        kpi: 'repeat order within 90 days after the delivery',
        groupedBy: 'delivery intact or broken',
        higherIsBetter: true,
        observational: true,
        groups: ['intact', 'broken'],
      },
      {
        name: 'churn_90d',
        cpi: 'first_time_resolution',
        kpi: 'churn within 90 days after the ticket opened',
        groupedBy: 'resolved at the first contact or not',
        higherIsBetter: false,
        observational: true,
        groups: ['first_time', 'not_first_time'],
      },
    ])
    const broke = body.links[1].groups
    expect(
      broke.map((group: { trials: number; successes: number }) => [group.trials, group.successes]),
    ).toEqual([
      [100, 40],
      [10, 2],
    ])
    // A group without a row counts zero.
    expect(body.links[0].groups[0]).toMatchObject({ group: '≤30s', trials: 0, successes: 0 })
  })

  it('takes the links and the KPIs from the KPI catalog it is given', async () => {
    const kpis: KpiCatalog = {
      kpis: [
        {
          name: 'repeat_order_90d',
          domain: 'delivery',
          displayName: 'orders again',
          description: 'orders again within 90 days',
          higherIsBetter: true,
          rule: {
            after: ['delivery.delivered'],
            event: 'order.placed',
            match: 'customer',
            customerFrom: 'delivery.scheduled',
            within: 60 * DAY,
            endedBy: [],
          },
        },
      ],
      links: [
        {
          cpi: 'on_time_in_full',
          kpi: 'repeat_order_90d',
          groupedBy: 'on time or late',
          groups: ['on_time', 'late'],
          grouping: { outcome: { good: 'on_time', bad: 'late' } },
        },
        {
          cpi: 'not_in_the_catalog',
          kpi: 'repeat_order_90d',
          groupedBy: 'x',
          groups: ['a', 'b'],
          grouping: { outcome: { good: 'a', bad: 'b' } },
        },
      ],
    }
    const body = await get(await analytics({ kpis }), '/v1/analytics/linkage')
    // The adapter is asked to count the KPI by the catalog's rule and to group by its grouping.
    expect(reads.asked.map(({ options }) => [options.cpi, options.kpi, options.grouping])).toEqual([
      [
        'on_time_in_full',
        {
          after: ['delivery.delivered'],
          event: 'order.placed',
          match: 'customer',
          customerFrom: 'delivery.scheduled',
          withinMs: 60 * DAY,
          endedBy: [],
        },
        { outcome: { good: 'on_time', bad: 'late' } },
      ],
    ])
    expect(body.links).toHaveLength(1)
    expect(body.links[0]).toMatchObject({
      name: 'repeat_order_90d',
      cpi: 'on_time_in_full',
      kpi: 'orders again within 90 days',
      groupedBy: 'on time or late',
    })
  })

  it('refuses at registration a link across domains', async () => {
    const churn = builtinKpi('churn_90d')
    await expect(
      analytics({
        kpis: {
          kpis: [churn],
          links: [
            {
              cpi: 'fast_quote',
              kpi: 'churn_90d',
              groupedBy: 'x',
              groups: ['a', 'b'],
              grouping: { outcome: { good: 'a', bad: 'b' } },
            },
          ],
        },
      }),
    ).rejects.toThrow("link fast_quote: kpi: churn_90d follows ticket interactions, the CPI's are quote")
  })

  it('answers 400 naming a bad parameter before reading anything', async () => {
    const response = await (await analytics()).inject({
      method: 'GET',
      url: '/v1/analytics/linkage?colour=red',
    })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ error: 'bad_request', details: [{ parameter: 'colour' }] })
    expect(reads.asked).toEqual([])
  })
})

describe('the experiments', () => {
  const arm = (variant: string, cpi: string, kpi: boolean) => ({
    experiment: 'checkout',
    variant,
    cpi,
    good: 40,
    total: 50,
    kpiSuccesses: kpi ? 10 : null,
    kpiTrials: kpi ? 50 : null,
    conflicting: 1,
    kpiFollowUpComplete: kpi ? 20 : null,
    cpiSequence: '1'.repeat(40) + '0'.repeat(10),
    kpiSequence: kpi ? '1'.repeat(10) + '0'.repeat(40) : null,
  })

  it("asks for each CPI with a domain with its KPI's rule, and names the KPI beside each CPI", async () => {
    reads.arms = [
      arm('A', 'fast_quote', true),
      arm('B', 'fast_quote', true),
      arm('A', 'phone_answer_20s', false),
    ]
    const body = await get(await analytics(), '/v1/analytics/experiments?mde=0.05')
    const asked = reads.asked[0]?.options.cpis as {
      cpi: string
      subjectType: string
      kpi: { event: string } | null
    }[]
    expect(asked.map(({ cpi, subjectType, kpi }) => [cpi, subjectType, kpi?.event ?? null])).toEqual([
      ['fast_quote', 'quote', 'quote.accepted'],
      ['on_time_in_full', 'delivery', 'order.placed'],
      ['nothing_broke', 'delivery', 'order.placed'],
      ['first_time_resolution', 'ticket', 'customer.churned'],
      ['first_reply_2h', 'ticket', 'customer.churned'],
      ['phone_answer_20s', 'call', null],
      ['payment_flexibility', 'checkout', null],
    ])
    expect(body.design).toMatchObject({ minimumDetectableEffect: 0.05, alpha: 0.05, power: 0.8 })
    expect(body.experiments).toHaveLength(1)
    const [experiment] = body.experiments
    expect(experiment).toMatchObject({
      id: 'checkout',
      designSource: 'request',
      description: null,
      conflictingAssignments: 3,
    })
    expect(
      experiment.cpis.map((cpi: Record<string, unknown>) => [
        cpi.cpi,
        cpi.displayName,
        cpi.kpi,
        cpi.kpiFollowUpComplete,
      ]),
    ).toEqual([
      ['fast_quote', 'Fast quote', 'quote accepted', { A: 20, B: 20 }],
      [
        'phone_answer_20s',
        catalog.find((d) => d.name === 'phone_answer_20s')?.displayName,
        null,
        { A: null },
      ],
    ])
  })

  it('applies a registered design and its baselines over the request', async () => {
    reads.arms = [arm('A', 'fast_quote', true), arm('B', 'fast_quote', true)]
    http = Fastify()
    registerAnalyticsRoutes(http, {
      clickhouse: {} as never,
      catalog,
      live: {} as LiveState,
      eventsTopic: 'events',
      now: () => NOW,
      designs: new Map([
        [
          'checkout',
          {
            id: 'checkout',
            minimumDetectableEffect: 0.1,
            alpha: 0.01,
            power: 0.9,
            baselines: { fast_quote: { cpi: 0.8 } },
            description: 'one-page checkout',
          },
        ],
      ]),
    })
    const [experiment] = (await get(http, '/v1/analytics/experiments')).experiments
    expect(experiment).toMatchObject({ designSource: 'registered', description: 'one-page checkout' })
    expect(experiment.cpis[0].design).toMatchObject({
      minimumDetectableEffect: 0.1,
      alpha: 0.01,
      power: 0.9,
      baselines: { cpi: 0.8 },
    })
  })
})

describe('perception, the index and the scorecards', () => {
  it('asks perception for each CPI with a domain and reports it with no responses as empty', async () => {
    const body = await get(await analytics(), '/v1/analytics/perception')
    expect(reads.asked[0]?.options.cpis).toEqual(
      catalog.filter((d) => d.shape !== 'survey').map((d) => ({ cpi: d.name, domain: expect.any(String) })),
    )
    expect(body.cpis[0]).toMatchObject({ cpi: 'fast_quote', displayName: 'Fast quote', subjectType: 'quote' })
    expect(body.note).toMatch(/^met = /)
  })

  it('builds the index of 30 windows and the scorecards per team from the live state', async () => {
    const live: Partial<LiveState> = {
      windows: async () => ({ asOf: NOW, byCpi: new Map() }),
      snapshot: async () => ({ asOf: NOW, cpis: [], alerts: [], freshness: {} as never }),
    }
    const server = await analytics({ live })
    const index = await get(server, '/v1/analytics/index?window=1h')
    expect(index.window).toBe('1h')
    expect(index.series).toHaveLength(30)
    expect(index.series[0].windowStart).toBe(new Date(NOW - 30 * 3_600_000).toISOString())
    expect(index.weights.fast_quote).toBe(0.15)
    expect(index.current.value).toBeNull()

    const scorecards = await get(server, '/v1/analytics/scorecards')
    expect(scorecards.window).toBe('1d')
    expect(scorecards.teams.map((team: { team: string }) => team.team)).toEqual(
      [...new Set(catalog.map((d) => d.owner))].sort(),
    )
    const support = scorecards.teams.find((team: { team: string }) => team.team === 'support')
    expect(support.health).toEqual({ ok: 0, at_risk: 0, breached: 0, no_data: 2 })
    expect(
      support.cpis.find((cpi: { name: string }) => cpi.name === 'first_time_resolution').leading,
    ).toEqual([
      { name: 'first_reply_2h', displayName: 'first_reply_2h', ratio: null, target: null, health: 'no_data' },
    ])
  })
})
