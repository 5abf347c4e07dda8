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
}
const link = { cpi: 'fast_quote', kpi: 'quote_acceptance', groupedBy: 'time', groups: ['fast', 'slow'] }

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
    expect(builtinKpiCatalog().kpis).toEqual([
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

  it('gives every CPI of a domain with a KPI that KPI, and the survey and call CPIs none', async () => {
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
    })
    expect(catalog.map(domainOf)).toEqual(['quote', 'delivery', 'delivery', 'ticket', 'ticket', 'call', null])
  })
})

describe('KPI catalog validation', () => {
  it('accepts a well-formed catalog, links optional', () => {
    expect(parseKpiCatalog({ kpis: [kpi] })).toEqual({ kpis: [kpi], links: [] })
    expect(problemsOf({ kpis: [kpi], links: [link] })).toEqual([])
  })

  it('names the entry, the field and the problem', () => {
    const problems = problemsOf({
      kpis: [{ ...kpi, name: 'Quote Acceptance', domain: 'lead', higherIsBetter: 'yes' }],
      links: [{ ...link, groups: ['only'], colour: 'red' }],
    })
    expect(problems).toEqual([
      expect.stringMatching(
        /^kpis\.json: kpis\[0\]\.name: a snake_case name, e\.g\. quote_acceptance, got "Quote Acceptance"$/,
      ),
      expect.stringMatching(
        /^kpis\.json: kpis\[0\]\.domain: one of the interaction domains \(quote, delivery, ticket, call, survey, order, customer\), got "lead"$/,
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
        kpis: [kpi, kpi, { ...kpi, name: 'quote_revenue' }],
        links: [
          link,
          { ...link, kpi: 'repeat_order_90d' },
          { ...link, cpi: 'x_cpi', groups: ['a', 'b', 'a'] },
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
    expect(problemsOf([kpi])).toEqual([expect.stringMatching(/^kpis\.json: \(catalog\): /)])
    expect(problemsOf({ kpis: [kpi], cpis: [] })).toEqual([expect.stringContaining('cpis')])
  })
})

describe('links against the CPI catalog', () => {
  const catalog = parseKpiCatalog({ kpis: [kpi], links: [link] })
  const cpi = (start: string) =>
    ({ name: 'fast_quote', shape: 'latency', start: { type: start, where: {} } }) as unknown as CpiDefinition

  it('leaves out a link whose CPI the catalog lacks', () => {
    expect(linksOf(catalog, [])).toEqual([])
    expect(linksOf(catalog, [cpi('quote.requested')])).toEqual([
      { cpi: 'fast_quote', kpi, groupedBy: 'time', groups: ['fast', 'slow'] },
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
