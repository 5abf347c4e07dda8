import { describe, expect, it } from 'vitest'
import { CatalogError, loadCatalog } from './catalog.ts'
import type { CpiDefinition } from './definition.ts'
import { builtinKpiCatalog, domainOf, kpiOf, linksOf, parseKpiCatalog } from './kpi.ts'

const kpi = {
  name: 'quote_acceptance',
  domain: 'quote',
  displayName: 'quote accepted',
  description: 'quote accepted',
  higherIsBetter: true,
  rule: {
    after: ['quote.requested'],
    event: 'quote.accepted',
    match: 'interaction' as const,
    within: 30 * 86_400_000,
    endedBy: ['quote.declined'],
  },
}
const kpiInput = { ...kpi, rule: { ...kpi.rule, within: '30d' } }
const grouping = { outcome: { good: 'fast', bad: 'slow' } }
const link = {
  cpi: 'fast_quote',
  kpi: 'quote_acceptance',
  groupedBy: 'time',
  groups: ['fast', 'slow'],
  grouping,
}

/** The problems a catalog is refused for ([] when it is accepted). */
function problemsOf(input: unknown): string[] {
  try {
    parseKpiCatalog(input, 'kpis.json')
    return []
  } catch (error) {
    if (error instanceof CatalogError) return error.problems
    throw error
  }
}

describe('the built-in KPI catalog', () => {
  it('holds the three KPIs, one per interaction domain that has one', () => {
    expect(builtinKpiCatalog().kpis.map(({ rule: _, ...kpi }) => kpi)).toEqual([
      {
        name: 'quote_acceptance',
        domain: 'quote',
        displayName: 'quote accepted',
        description: 'quote accepted',
        higherIsBetter: true,
      },
      {
        name: 'repeat_order_90d',
        domain: 'delivery',
        displayName: 'repeat order within 90 days',
        description: 'repeat order within 90 days after the delivery',
        higherIsBetter: true,
      },
      {
        name: 'churn_90d',
        domain: 'ticket',
        displayName: 'churn within 90 days',
        description: 'churn within 90 days after the ticket opened',
        higherIsBetter: false,
      },
    ])
  })

  it('counts each KPI by its rule: which event, of the interaction or the customer, how long after', () => {
    const rules = Object.fromEntries(builtinKpiCatalog().kpis.map((kpi) => [kpi.name, kpi.rule]))
    expect(rules).toEqual({
      quote_acceptance: {
        after: ['quote.requested'],
        event: 'quote.accepted',
        match: 'interaction',
        within: 30 * 86_400_000,
        endedBy: ['quote.declined'],
      },
      repeat_order_90d: {
        after: ['delivery.delivered', 'delivery.scheduled'],
        event: 'order.placed',
        match: 'customer',
        customerFrom: 'delivery.scheduled',
        within: 90 * 86_400_000,
        endedBy: [],
      },
      churn_90d: {
        after: ['ticket.opened'],
        event: 'customer.churned',
        match: 'customer',
        customerFrom: 'ticket.opened',
        within: 90 * 86_400_000,
        endedBy: [],
      },
    })
  })

  it('refuses a rule by customer without the event that names the customer, and a grouping outside the groups', () => {
    expect(
      problemsOf({
        kpis: [{ ...kpiInput, rule: { ...kpiInput.rule, match: 'customer', event: 'order.shipped' } }],
        links: [{ ...link, grouping: { outcome: { good: 'fast', bad: 'late' } } }],
      }),
    ).toEqual(['kpis.json: kpis[0].rule.event: one of the v1 event types, got "order.shipped"'])
    expect(
      problemsOf({
        kpis: [{ ...kpiInput, rule: { ...kpiInput.rule, match: 'customer', endedBy: [] } }],
        links: [{ ...link, grouping: { outcome: { good: 'fast', bad: 'late' } } }],
      }),
    ).toEqual([
      'kpis.json: kpis[0].rule.customerFrom: a rule matching by customer names the event that carries the customer id (customerFrom)',
    ])
    // Nothing of a customer's takes one interaction out; bucket bounds go up.
    expect(
      problemsOf({
        kpis: [
          { ...kpiInput, rule: { ...kpiInput.rule, match: 'customer', customerFrom: 'quote.requested' } },
        ],
      }),
    ).toEqual([
      'kpis.json: kpis[0].rule.endedBy: endedBy applies to a rule matching by interaction (an event of the interaction takes it out)',
    ])
    const latency = (first: string, second: string) => ({
      latency: {
        buckets: [
          { upTo: first, label: 'fast' },
          { upTo: second, label: 'slow' },
        ],
        over: 'slow',
        never: 'slow',
      },
    })
    expect(problemsOf({ kpis: [kpiInput], links: [{ ...link, grouping: latency('30s', '5m') }] })).toEqual([])
    expect(problemsOf({ kpis: [kpiInput], links: [{ ...link, grouping: latency('5m', '30s') }] })).toEqual([
      'kpis.json: links[0].grouping.latency.buckets: bucket bounds in ascending order (the first that holds an interaction takes it)',
    ])
    expect(
      problemsOf({
        kpis: [kpiInput],
        links: [{ ...link, grouping: { outcome: { good: 'fast', bad: 'late' } } }],
      }),
    ).toEqual(['kpis.json link fast_quote: grouping: late is not one of the groups (fast, slow)'])
  })

  it('links the three built-in CPIs to their KPIs, in display order, with the groups the adapter counts', async () => {
    const links = linksOf(builtinKpiCatalog(), await loadCatalog())
    expect(
      links.map(({ cpi, kpi, groupedBy, groups }) => ({ cpi, kpi: kpi.name, groupedBy, groups })),
    ).toEqual([
      {
        cpi: 'fast_quote',
        kpi: 'quote_acceptance',
        groupedBy: 'time to answer the quote',
        groups: ['≤30s', '30s–5m', '5m–1h', '>1h', 'never'],
      },
      {
        cpi: 'nothing_broke',
        kpi: 'repeat_order_90d',
        groupedBy: 'delivery intact or broken',
        groups: ['intact', 'broken'],
      },
      {
        cpi: 'first_time_resolution',
        kpi: 'churn_90d',
        groupedBy: 'resolved at the first contact or not',
        groups: ['first_time', 'not_first_time'],
      },
    ])
  })

  it('gives every CPI of a domain with a KPI that KPI, and the survey, call and checkout CPIs none', async () => {
    const catalog = await loadCatalog()
    expect(
      Object.fromEntries(
        catalog.map((definition) => [definition.name, kpiOf(builtinKpiCatalog(), definition)?.name ?? null]),
      ),
    ).toEqual({
      fast_quote: 'quote_acceptance',
      on_time_in_full: 'repeat_order_90d',
      nothing_broke: 'repeat_order_90d',
      first_time_resolution: 'churn_90d',
      first_reply_2h: 'churn_90d',
      phone_answer_20s: null,
      csat: null,
      payment_flexibility: null,
      value_delivered: null,
    })
    expect(catalog.map(domainOf)).toEqual([
      'quote',
      'delivery',
      'delivery',
      'ticket',
      'ticket',
      'call',
      null,
      'checkout',
      null,
    ])
  })
})

describe('KPI catalog validation', () => {
  it('accepts a well-formed catalog, links optional', () => {
    expect(parseKpiCatalog({ kpis: [kpiInput] })).toEqual({ kpis: [kpi], links: [] })
    expect(problemsOf({ kpis: [kpiInput], links: [link] })).toEqual([])
  })

  it('names the entry, the field and the problem', () => {
    const problems = problemsOf({
      kpis: [{ ...kpiInput, name: 'Quote Acceptance', domain: 'lead', higherIsBetter: 'yes' }],
      links: [{ ...link, groups: ['only'], colour: 'red' }],
    })
    expect(problems).toEqual([
      expect.stringMatching(
        /^kpis\.json: kpis\[0\]\.name: a snake_case name, e\.g\. quote_acceptance, got "Quote Acceptance"$/,
      ),
      expect.stringMatching(
        /^kpis\.json: kpis\[0\]\.domain: one of the interaction domains \(quote, delivery, ticket, call, survey, order, customer, checkout, value\), got "lead"$/,
      ),
      expect.stringMatching(/^kpis\.json: kpis\[0\]\.higherIsBetter: /),
      expect.stringMatching(/^kpis\.json: links\[0\](\.groups)?: /),
      expect.stringMatching(/^kpis\.json: links\[0\](\.groups)?: /),
    ])
    expect(problems.join('\n')).toContain('colour')
  })

  it('refuses repeats, two KPIs of one domain and links to no KPI', () => {
    expect(
      problemsOf({
        kpis: [kpiInput, kpiInput, { ...kpiInput, name: 'quote_revenue' }],
        links: [
          link,
          { ...link, kpi: 'repeat_order_90d' },
          { ...link, cpi: 'x_cpi', groups: ['a', 'b', 'a'], grouping: { outcome: { good: 'a', bad: 'b' } } },
        ],
      }),
    ).toEqual([
      'kpis.json kpi quote_acceptance: defined twice',
      'kpis.json kpis: more than one KPI of the domain quote',
      'kpis.json link fast_quote: defined twice',
      'kpis.json link fast_quote: kpi: no KPI named repeat_order_90d (kpis: quote_acceptance, quote_revenue)',
      'kpis.json link x_cpi: groups: a listed twice',
    ])
  })

  it('refuses a document that is not one', () => {
    expect(problemsOf([kpiInput])).toEqual([expect.stringMatching(/^kpis\.json: \(catalog\): /)])
    expect(problemsOf({ kpis: [kpiInput], cpis: [] })).toEqual([expect.stringContaining('cpis')])
  })
})

describe('links against the CPI catalog', () => {
  const catalog = parseKpiCatalog({ kpis: [kpiInput], links: [link] })
  const cpi = (start: string) =>
    ({ name: 'fast_quote', shape: 'latency', start: { type: start, where: {} } }) as unknown as CpiDefinition

  it('leaves out a link whose CPI the catalog lacks', () => {
    expect(linksOf(catalog, [])).toEqual([])
    expect(linksOf(catalog, [cpi('quote.requested')])).toEqual([
      { cpi: 'fast_quote', kpi, groupedBy: 'time', groups: ['fast', 'slow'], grouping },
    ])
  })

  it('refuses a link between a CPI and a KPI of another domain', () => {
    expect(() => linksOf(catalog, [cpi('ticket.opened')])).toThrow(
      "link fast_quote: kpi: quote_acceptance follows quote interactions, the CPI's are ticket",
    )
    const survey = { name: 'fast_quote', shape: 'survey' } as unknown as CpiDefinition
    expect(() => linksOf(catalog, [survey])).toThrow("the CPI's are survey responses")
  })
})
