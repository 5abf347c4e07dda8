import { type LinkGroupCounts, linkage } from '@cpi/analytics'
import { type LinkRow, queryLinkage } from '@cpi/clickhouse'
import { linksOf, type ResolvedKpiLink } from '@cpi/cpi-core'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { analyticsQuery } from '../params.ts'
import { defineRoute, serve } from '../route.ts'
import { isoTime } from '../schemas.ts'
import { Link } from './schemas.ts'
import { type AnalyticsContext, countedKpi, iso, linkGrouping, queryOf } from './shared.ts'

const OBSERVATIONAL =
  'Observational: customers in these groups differ in more than the CPI outcome, so a difference is an association, not proof that improving the CPI moves the KPI. Experiments test causation.'

/**
 * `GET /v1/analytics/linkage`: for each link of the KPI catalog whose CPI is in the catalog, the
 * KPI rate per group of the CPI's outcomes (observational).
 */
export function registerLinkageRoute(http: FastifyInstance, context: AnalyticsContext): void {
  const links = linksOf(context.kpis, context.catalog)
  serve(
    http,
    defineRoute({
      method: 'GET',
      url: '/v1/analytics/linkage',
      operationId: 'linkage',
      summary:
        "CPI → KPI links (observational), as the KPI catalog defines them (cpi-core's catalog/kpis.json: which KPI, counted how, grouped how): per link the KPI rate of each group of the CPI's interactions with its Wilson interval, each group against the first.",
      query: analyticsQuery(context.now),
      responses: {
        200: {
          description: 'The links whose CPI is in the catalog.',
          schema: z.object({
            from: isoTime,
            to: isoTime,
            note: z.string().describe('What observational means here.'),
            links: z.array(Link),
          }),
        },
      },
      handler: async ({ query: { from, to } }, request) =>
        context.shared.get(`linkage ${queryOf(request.url)}`, async () => {
          const reported = []
          for (const link of links) reported.push(await linkView(context, link, from, to))
          return { from: iso(from), to: iso(to), note: OBSERVATIONAL, links: reported }
        }),
    }),
  )
}

/** One link over the cohorts in [from, to): its groups in the catalog's order, each against the first. */
async function linkView(context: AnalyticsContext, link: ResolvedKpiLink, from: number, to: number) {
  const rows = await queryLinkage(context.clickhouse, {
    from,
    to,
    topic: context.topic,
    cpi: link.cpi,
    kpi: countedKpi(link.kpi).count,
    grouping: linkGrouping(link.grouping),
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
