import { type ArmCounts, analyzeExperiment, type ExperimentDesign } from '@cpi/analytics'
import { type ExperimentArmRow, type KpiCount, queryExperimentArms } from '@cpi/clickhouse'
import { domainOf } from '@cpi/cpi-core'
import type { FastifyInstance } from 'fastify'
import type { ExperimentDesignEntry } from '../experiment-designs.ts'
import { type AnalyticsParameters, analyticsQuery } from '../params.ts'
import { defineRoute, serve } from '../route.ts'
import { Experiments } from './schemas.ts'
import { type AnalyticsContext, iso, queryOf } from './shared.ts'

const FIXED_HORIZON =
  'Fixed horizon: the sample size per arm is set before the start from the minimum detectable effect, alpha and power (register the design: CPI_EXPERIMENTS_FILE); the decision is taken once, on exactly the first planned interactions of each arm. Stopping early on a significant p-value inflates false positives far beyond alpha.'

/** A CPI with an interaction domain, and the KPI followed after its interactions (if any). */
interface ExperimentCpi {
  cpi: string
  subjectType: string
  /** How its KPI is counted; null without a KPI. */
  count: KpiCount | null
  /** The KPI's short name; null without a KPI. */
  kpi: string | null
}

type Design = Pick<ExperimentDesign, 'minimumDetectableEffect' | 'alpha' | 'power'>

/**
 * `GET /v1/analytics/experiments`: per experiment and CPI, the arms' CPI and linked KPI compared
 * with the control, under the registered design or the request's.
 */
export function registerExperimentsRoute(http: FastifyInstance, context: AnalyticsContext): void {
  serve(
    http,
    defineRoute({
      method: 'GET',
      url: '/v1/analytics/experiments',
      operationId: 'experiments',
      summary:
        'Experiments: for interactions carrying `experiment`/`variant`, each arm’s CPI and linked KPI, the difference to the control with interval, two-proportion z-test, p-value, the planned sample size per arm and what is still missing (fixed-horizon design).',
      query: analyticsQuery(context.now, { experiments: true }),
      responses: {
        200: {
          description: 'Every experiment seen in the range, per CPI its interactions count in.',
          schema: Experiments,
        },
      },
      handler: async ({ query }, request) =>
        context.shared.get(`experiments ${queryOf(request.url)}`, () => experiments(context, query)),
    }),
  )
}

/** The experiments view: every experiment with arms in the range (or the one asked for). */
async function experiments(context: AnalyticsContext, parameters: AnalyticsParameters) {
  const { from, to, experiment, minimumDetectableEffect, alpha, power } = parameters
  const cpis: ExperimentCpi[] = context.catalog.flatMap((definition) => {
    const domain = domainOf(definition)
    const kpi = domain ? context.kpiOfDomain.get(domain) : undefined
    return domain
      ? [
          {
            cpi: definition.name,
            subjectType: domain,
            count: kpi?.count ?? null,
            kpi: kpi?.displayName ?? null,
          },
        ]
      : []
  })
  const rows = await queryExperimentArms(context.clickhouse, {
    from,
    to,
    topic: context.topic,
    cpis: cpis.map(({ cpi, subjectType, count }) => ({ cpi, subjectType, kpi: count })),
    ...(experiment ? { experiment } : {}),
  })
  const ids = [...new Set(rows.map((row) => row.experiment))].sort()
  const requested: Design = { minimumDetectableEffect, alpha, power }
  return {
    from: iso(from),
    to: iso(to),
    design: { ...requested, rule: FIXED_HORIZON },
    experiments: ids.map((id) =>
      experimentView(
        context,
        cpis,
        rows.filter((row) => row.experiment === id),
        id,
        requested,
      ),
    ),
  }
}

/**
 * One experiment: its design (a registered one wins over the request's: it was fixed before the
 * data came) and its CPIs.
 */
function experimentView(
  context: AnalyticsContext,
  cpis: readonly ExperimentCpi[],
  rows: readonly ExperimentArmRow[],
  id: string,
  requested: Design,
) {
  const registered = context.designs?.get(id)
  const design: Design = registered
    ? {
        minimumDetectableEffect: registered.minimumDetectableEffect,
        alpha: registered.alpha,
        power: registered.power,
      }
    : requested
  return {
    id,
    designSource: registered ? 'registered' : 'request',
    description: registered?.description ?? null,
    conflictingAssignments: rows.reduce((sum, row) => sum + row.conflicting, 0),
    cpis: cpis
      .filter(({ cpi }) => rows.some((row) => row.cpi === cpi))
      .map(({ cpi, kpi }) => {
        const arms = rows.filter((row) => row.cpi === cpi)
        return {
          cpi,
          displayName: context.byName.get(cpi)?.displayName ?? cpi,
          kpi,
          kpiFollowUpComplete: Object.fromEntries(arms.map((row) => [row.variant, row.kpiFollowUpComplete])),
          ...analyzeExperiment(arms.map(armCounts), withBaselines(design, registered, cpi)),
        }
      }),
  }
}

/** The design with the registered baselines of the CPI, if any. */
function withBaselines(design: Design, registered: ExperimentDesignEntry | undefined, cpi: string) {
  const baselines = registered?.baselines[cpi]
  return { ...design, ...(baselines ? { baselines } : {}) }
}

/** One arm's counts of a CPI, and of its KPI when it has one. */
function armCounts(row: ExperimentArmRow): ArmCounts {
  return {
    variant: row.variant,
    cpi: { successes: row.good, trials: row.total },
    kpi:
      row.kpiSuccesses === null || row.kpiTrials === null
        ? null
        : { successes: row.kpiSuccesses, trials: row.kpiTrials },
    sequence: { cpi: row.cpiSequence, kpi: row.kpiSequence },
  }
}
