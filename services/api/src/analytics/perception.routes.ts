import { perceptionGap, type SurveyCounts } from '@cpi/analytics'
import { queryPerception } from '@cpi/clickhouse'
import { domainOf } from '@cpi/cpi-core'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { analyticsQuery } from '../params.ts'
import { defineRoute, serve } from '../route.ts'
import { isoTime } from '../schemas.ts'
import { Perception } from './schemas.ts'
import { type AnalyticsContext, iso, queryOf } from './shared.ts'

const NOTE =
  'met = the interaction met the CPI expectation (good), missed = it did not (bad); pending interactions are left out. Gaps are met − missed. A response-rate gap means respondents are not equally representative of both groups.'

/** The counts of a group without a row: no interaction, no response. */
const empty = (): SurveyCounts => ({
  interactions: 0,
  responded: 0,
  csat: [0, 0, 0, 0, 0],
  nps: Array(11).fill(0),
  ces: Array(7).fill(0),
})

/** `GET /v1/analytics/perception`: survey scores of interactions that met the CPI vs those that missed it. */
export function registerPerceptionRoute(http: FastifyInstance, context: AnalyticsContext): void {
  serve(
    http,
    defineRoute({
      method: 'GET',
      url: '/v1/analytics/perception',
      operationId: 'perception',
      summary:
        'Perception vs performance: per CPI, CSAT (top-two-box), NPS and CES of interactions that met the expectation vs those that missed it, the gaps with intervals, and the survey response rate per group.',
      query: analyticsQuery(context.now),
      responses: {
        200: {
          description:
            'One entry per CPI with an interaction domain (survey CPIs are the scores themselves).',
          schema: z.object({ from: isoTime, to: isoTime, note: z.string(), cpis: z.array(Perception) }),
        },
      },
      handler: async ({ query: { from, to } }, request) =>
        context.shared.get(`perception ${queryOf(request.url)}`, () => perception(context, from, to)),
    }),
  )
}

/** The perception view of the cohorts in [from, to): per CPI with a domain, met vs missed. */
async function perception(context: AnalyticsContext, from: number, to: number) {
  const cpis = context.catalog.flatMap((definition) => {
    const domain = domainOf(definition)
    return domain ? [{ cpi: definition.name, domain }] : []
  })
  const rows = await queryPerception(context.clickhouse, { from, to, topic: context.topic, cpis })
  const none = empty()
  return {
    from: iso(from),
    to: iso(to),
    note: NOTE,
    cpis: cpis.map(({ cpi, domain }) => {
      const met = rows.find((row) => row.cpi === cpi && row.group === 'met') ?? none
      const missed = rows.find((row) => row.cpi === cpi && row.group === 'missed') ?? none
      return {
        cpi,
        displayName: context.byName.get(cpi)?.displayName ?? cpi,
        subjectType: domain,
        ...perceptionGap(met, missed),
      }
    }),
  }
}
