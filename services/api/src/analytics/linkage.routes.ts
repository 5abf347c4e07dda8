import { type LinkGroupCounts, linkage } from '@cpi/analytics'
import { type LinkRow, queryLinkage } from '@cpi/clickhouse'
import { linksOf, type ResolvedKpiLink } from '@cpi/cpi-core'
import type { FastifyInstance } from 'fastify'
import { badRequest } from '../bad-request.ts'
import { parseAnalyticsParameters } from '../params.ts'
import { type AnalyticsContext, countedKpi, iso, queryOf } from './shared.ts'

const OBSERVATIONAL =
  'Observational: customers in these groups differ in more than the CPI outcome, so a difference is an association, not proof that improving the CPI moves the KPI. Experiments test causation.'

/**
 * `GET /v1/analytics/linkage`: for each link of the KPI catalog whose CPI is in the catalog, the
 * KPI rate per group of the CPI's outcomes (observational).
 */
export function registerLinkageRoute(http: FastifyInstance, context: AnalyticsContext): void {
  const links = linksOf(context.kpis, context.catalog)
  http.get('/v1/analytics/linkage', async (request, reply) => {
    const parsed = parseAnalyticsParameters(request.query as Record<string, unknown>, context.now())
    if (!parsed.ok) return badRequest(reply, parsed.problems)
    const { from, to } = parsed.value
    return context.shared.get(`linkage ${queryOf(request.url)}`, async () => {
      const reported = []
      for (const link of links) reported.push(await linkView(context, link, from, to))
      return { from: iso(from), to: iso(to), note: OBSERVATIONAL, links: reported }
    })
  })
}

/** One link over the cohorts in [from, to): its groups in the catalog's order, each against the first. */
async function linkView(context: AnalyticsContext, link: ResolvedKpiLink, from: number, to: number) {
  const { domain } = countedKpi(link.kpi)
  const rows = await queryLinkage(context.clickhouse, {
    from,
    to,
    topic: context.topic,
    cpi: link.cpi,
    domain,
  })
  return {
    name: link.kpi.name,
    cpi: link.cpi,
    kpi: link.kpi.description,
    groupedBy: link.groupedBy,
    higherIsBetter: link.kpi.higherIsBetter,
    observational: true,
    ...linkage(link.groups.map((group) => groupCounts(rows, group))),
  }
}

/** The counts of one group (zero without a row). */
function groupCounts(rows: readonly LinkRow[], group: string): LinkGroupCounts {
  const row = rows.find((candidate) => candidate.group === group)
  return {
    group,
    successes: row?.successes ?? 0,
    trials: row?.trials ?? 0,
    followUpComplete: row?.followUpComplete ?? 0,
  }
}
