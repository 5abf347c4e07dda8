import {
  analyzeExperiment,
  type CustomerIndex,
  customerIndex,
  type LinkGroupCounts,
  linkage,
  perceptionGap,
  type SurveyCounts,
} from '@cpi/analytics'
import {
  type ClickHouse,
  type CpiPoint,
  type KpiDomain,
  kpiOfDomain,
  queryExperimentArms,
  queryLinkage,
  queryPerception,
  quoteBuckets,
} from '@cpi/clickhouse'
import type { CpiDefinition } from '@cpi/cpi-core'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ExperimentDesignEntry } from './experiment-designs.ts'
import { type LiveState, laggingOf } from './live.ts'
import {
  formatDuration,
  type ParameterProblem,
  parseAnalyticsParameters,
  parseAnalyticsWindow,
} from './params.ts'
import { createReadCache } from './read-cache.ts'

// The customer-centric analytics (docs/analytics.md; CPI-CATALOG.md §5): perception vs
// performance, CPI → KPI links, experiments, the shared customer index and team scorecards.
// ClickHouse counts (@cpi/clickhouse tables/analytics.ts); @cpi/analytics does the statistics.

const OBSERVATIONAL =
  'Observational: customers in these groups differ in more than the CPI outcome, so a difference is an association, not proof that improving the CPI moves the KPI. Experiments test causation.'

const FIXED_HORIZON =
  'Fixed horizon: the sample size per arm is set before the start from the minimum detectable effect, alpha and power (register the design: CPI_EXPERIMENTS_FILE); the decision is taken once, on exactly the first planned interactions of each arm. Stopping early on a significant p-value inflates false positives far beyond alpha.'

/** The interaction domain of a CPI (from its start event), or null for survey CPIs. */
export function domainOf(definition: CpiDefinition): string | null {
  if (definition.shape === 'survey') return null
  return definition.start.type.split('.')[0] ?? null
}

const kpiDomain = (domain: string | null): KpiDomain | null =>
  domain === 'quote' || domain === 'delivery' || domain === 'ticket' ? domain : null

/** The links the product reports, in order: the CPI, its domain, the groups in display order, the KPI. */
const LINKS = [
  {
    name: kpiOfDomain.quote,
    cpi: 'fast_quote',
    domain: 'quote',
    kpi: 'quote accepted',
    groupedBy: 'time to answer the quote',
    groups: [...quoteBuckets],
    higherIsBetter: true,
  },
  {
    name: kpiOfDomain.delivery,
    cpi: 'nothing_broke',
    domain: 'delivery',
    kpi: 'repeat order within 90 days after the delivery',
    groupedBy: 'delivery intact or broken',
    groups: ['intact', 'broken'],
    higherIsBetter: true,
  },
  {
    name: kpiOfDomain.ticket,
    cpi: 'first_time_resolution',
    domain: 'ticket',
    kpi: 'churn within 90 days after the ticket opened',
    groupedBy: 'resolved at the first contact or not',
    groups: ['first_time', 'not_first_time'],
    higherIsBetter: false,
  },
] as const

const KPI_NAMES: Record<KpiDomain, string> = {
  quote: 'quote accepted',
  delivery: 'repeat order within 90 days',
  ticket: 'churn within 90 days',
}

const iso = (ms: number) => new Date(ms).toISOString()

const badRequest = (reply: FastifyReply, problems: ParameterProblem[]) =>
  reply.code(400).send({
    error: 'bad_request',
    message: problems.map((problem) => `${problem.parameter}: ${problem.message}`).join('; '),
    details: problems,
  })

/** The customer index of one window from the CPIs' points (good/total) and the catalog's weights. */
export function indexOf(
  catalog: readonly CpiDefinition[],
  point: (cpi: string) => CpiPoint | undefined,
): CustomerIndex {
  return customerIndex(
    catalog
      .filter((definition) => definition.indexWeight > 0)
      .map((definition) => ({
        cpi: definition.name,
        weight: definition.indexWeight,
        good: point(definition.name)?.good ?? 0,
        total: point(definition.name)?.total ?? 0,
        target: definition.objective.target,
      })),
  )
}

export function registerAnalyticsRoutes(
  http: FastifyInstance,
  options: {
    clickhouse: ClickHouse
    catalog: readonly CpiDefinition[]
    live: LiveState
    /** The events topic: its watermarks are the "now" KPIs are counted at. */
    eventsTopic: string
    /** Designs registered before the experiments started, by experiment id. */
    designs?: ReadonlyMap<string, ExperimentDesignEntry>
    /** Identical reads within this many ms share one computation (default 5000: analytics scan more). */
    shareReadsMs?: number
    now?: () => number
  },
): void {
  const { clickhouse, catalog, live, eventsTopic: topic } = options
  const now = options.now ?? Date.now
  const shared = createReadCache({ ttlMs: options.shareReadsMs ?? 5000, now })
  const byName = new Map(catalog.map((definition) => [definition.name, definition]))
  const queryOf = (url: string) => (url.includes('?') ? url.slice(url.indexOf('?')) : '')

  http.get('/v1/analytics/perception', async (request, reply) => {
    const parsed = parseAnalyticsParameters(request.query as Record<string, unknown>, now())
    if (!parsed.ok) return badRequest(reply, parsed.problems)
    const { from, to } = parsed.value
    return shared.get(`perception ${queryOf(request.url)}`, async () => {
      const cpis = catalog.flatMap((definition) => {
        const domain = domainOf(definition)
        return domain ? [{ cpi: definition.name, domain }] : []
      })
      const rows = await queryPerception(clickhouse, { from, to, topic, cpis })
      const empty: SurveyCounts = {
        interactions: 0,
        responded: 0,
        csat: [0, 0, 0, 0, 0],
        nps: Array(11).fill(0),
        ces: Array(7).fill(0),
      }
      return {
        from: iso(from),
        to: iso(to),
        note: 'met = the interaction met the CPI expectation (good), missed = it did not (bad); pending interactions are left out. Gaps are met − missed. A response-rate gap means respondents are not equally representative of both groups.',
        cpis: cpis.map(({ cpi, domain }) => {
          const met = rows.find((row) => row.cpi === cpi && row.group === 'met') ?? empty
          const missed = rows.find((row) => row.cpi === cpi && row.group === 'missed') ?? empty
          return {
            cpi,
            displayName: byName.get(cpi)?.displayName ?? cpi,
            subjectType: domain,
            ...perceptionGap(met, missed),
          }
        }),
      }
    })
  })

  http.get('/v1/analytics/linkage', async (request, reply) => {
    const parsed = parseAnalyticsParameters(request.query as Record<string, unknown>, now())
    if (!parsed.ok) return badRequest(reply, parsed.problems)
    const { from, to } = parsed.value
    return shared.get(`linkage ${queryOf(request.url)}`, async () => {
      const links = []
      for (const link of LINKS) {
        if (!byName.has(link.cpi)) continue
        const rows = await queryLinkage(clickhouse, { from, to, topic, cpi: link.cpi, domain: link.domain })
        const groups: LinkGroupCounts[] = link.groups.map((group) => {
          const row = rows.find((candidate) => candidate.group === group)
          return {
            group,
            successes: row?.successes ?? 0,
            trials: row?.trials ?? 0,
            followUpComplete: row?.followUpComplete ?? 0,
          }
        })
        links.push({
          name: link.name,
          cpi: link.cpi,
          kpi: link.kpi,
          groupedBy: link.groupedBy,
          higherIsBetter: link.higherIsBetter,
          observational: true,
          ...linkage(groups),
        })
      }
      return { from: iso(from), to: iso(to), note: OBSERVATIONAL, links }
    })
  })

  http.get('/v1/analytics/experiments', async (request, reply) => {
    const parsed = parseAnalyticsParameters(request.query as Record<string, unknown>, now(), {
      experiments: true,
    })
    if (!parsed.ok) return badRequest(reply, parsed.problems)
    const { from, to, experiment, minimumDetectableEffect, alpha, power } = parsed.value
    return shared.get(`experiments ${queryOf(request.url)}`, async () => {
      const cpis = catalog.flatMap((definition) => {
        const domain = domainOf(definition)
        return domain ? [{ cpi: definition.name, subjectType: domain, domain: kpiDomain(domain) }] : []
      })
      const rows = await queryExperimentArms(clickhouse, {
        from,
        to,
        topic,
        cpis,
        ...(experiment ? { experiment } : {}),
      })
      const ids = [...new Set(rows.map((row) => row.experiment))].sort()
      return {
        from: iso(from),
        to: iso(to),
        design: { minimumDetectableEffect, alpha, power, rule: FIXED_HORIZON },
        experiments: ids.map((id) => {
          // A registered design wins over the request's: it was fixed before the data came.
          const registered = options.designs?.get(id)
          const design = registered
            ? {
                minimumDetectableEffect: registered.minimumDetectableEffect,
                alpha: registered.alpha,
                power: registered.power,
              }
            : { minimumDetectableEffect, alpha, power }
          const experimentRows = rows.filter((row) => row.experiment === id)
          return {
            id,
            designSource: registered ? 'registered' : 'request',
            description: registered?.description ?? null,
            conflictingAssignments: experimentRows.reduce((sum, row) => sum + row.conflicting, 0),
            cpis: cpis
              .filter(({ cpi }) => experimentRows.some((row) => row.cpi === cpi))
              .map(({ cpi, domain }) => ({
                cpi,
                displayName: byName.get(cpi)?.displayName ?? cpi,
                kpi: domain ? KPI_NAMES[domain] : null,
                kpiFollowUpComplete: Object.fromEntries(
                  experimentRows
                    .filter((row) => row.cpi === cpi)
                    .map((row) => [row.variant, row.kpiFollowUpComplete]),
                ),
                ...analyzeExperiment(
                  experimentRows
                    .filter((row) => row.cpi === cpi)
                    .map((row) => ({
                      variant: row.variant,
                      cpi: { successes: row.good, trials: row.total },
                      kpi:
                        row.kpiSuccesses === null || row.kpiTrials === null
                          ? null
                          : { successes: row.kpiSuccesses, trials: row.kpiTrials },
                      sequence: { cpi: row.cpiSequence, kpi: row.kpiSequence },
                    })),
                  {
                    ...design,
                    ...(registered?.baselines[cpi] ? { baselines: registered.baselines[cpi] } : {}),
                  },
                ),
              })),
          }
        }),
      }
    })
  })

  // The shared customer index: its value per window (default 30 windows of 1 day) and the
  // latest window's components.
  http.get('/v1/analytics/index', async (request, reply) => {
    const window = parseAnalyticsWindow(request.query as Record<string, unknown>)
    if (!window.ok) return badRequest(reply, window.problems)
    return shared.get(`index ${window.value}`, async () => {
      const windows = 30
      const { asOf, byCpi } = await live.windows(window.value, windows)
      const series = Array.from({ length: windows }, (_, k) => {
        const start = asOf - (windows - k) * window.value
        const point = (cpi: string) => byCpi.get(cpi)?.find((p) => Date.parse(p.windowStart) === start)
        const index = indexOf(catalog, point)
        return {
          windowStart: iso(start),
          value: index.value,
          lower: index.lower,
          upper: index.upper,
          target: index.target,
          coverage: index.coverage,
        }
      })
      const lastStart = asOf - window.value
      const current = indexOf(catalog, (cpi) =>
        byCpi.get(cpi)?.find((p) => Date.parse(p.windowStart) === lastStart),
      )
      return {
        asOf: iso(asOf),
        window: formatDuration(window.value),
        weights: Object.fromEntries(catalog.map((definition) => [definition.name, definition.indexWeight])),
        current,
        series,
      }
    })
  })

  // Per team (the CPIs' owner): the CPIs it can move, each with its leading and lagging
  // indicators beside it, and its share of the customer index.
  http.get('/v1/analytics/scorecards', async (request, reply) => {
    const window = parseAnalyticsWindow(request.query as Record<string, unknown>)
    if (!window.ok) return badRequest(reply, window.problems)
    return shared.get(`scorecards ${window.value}`, async () => {
      const snapshot = await live.snapshot(window.value)
      const summaries = new Map(snapshot.cpis.map((summary) => [summary.name, summary]))
      const index = indexOf(catalog, (cpi) => summaries.get(cpi)?.current ?? undefined)
      const contribution = new Map(index.components.map((component) => [component.cpi, component]))
      const brief = (name: string) => {
        const summary = summaries.get(name)
        return {
          name,
          displayName: summary?.displayName ?? name,
          ratio: summary?.current?.ratio ?? null,
          target: summary?.objective.target ?? null,
          health: summary?.health ?? 'no_data',
        }
      }
      const teams = [...new Set(catalog.map((definition) => definition.owner))].sort()
      return {
        asOf: iso(snapshot.asOf),
        window: formatDuration(window.value),
        index: { value: index.value, lower: index.lower, upper: index.upper, target: index.target },
        teams: teams.map((team) => {
          const cpis = catalog
            .filter((definition) => definition.owner === team)
            .map((definition) => {
              const summary = summaries.get(definition.name)
              return {
                ...brief(definition.name),
                good: summary?.current?.good ?? 0,
                total: summary?.current?.total ?? 0,
                pending: summary?.current?.pending ?? 0,
                trend: summary?.trend ?? null,
                firingAlerts: summary?.firingAlerts ?? 0,
                indexWeight: definition.indexWeight,
                indexPoints: contribution.get(definition.name)?.contribution ?? 0,
                leading: definition.leadingIndicators.map(brief),
                lagging: laggingOf(catalog, definition.name).map(brief),
              }
            })
          const count = (health: string) => cpis.filter((cpi) => cpi.health === health).length
          return {
            team,
            cpis,
            health: {
              ok: count('ok'),
              at_risk: count('at_risk'),
              breached: count('breached'),
              no_data: count('no_data'),
            },
            indexPoints: cpis.reduce((sum, cpi) => sum + cpi.indexPoints, 0),
          }
        }),
      }
    })
  })
}
