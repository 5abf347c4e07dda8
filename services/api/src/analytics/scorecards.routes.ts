import type { CpiDefinition } from '@cpi/cpi-core'
import type { FastifyInstance } from 'fastify'
import { laggingOf } from '../live.ts'
import { analyticsWindowQuery, formatDuration } from '../params.ts'
import { defineRoute, serve } from '../route.ts'
import type { CpiSummary } from '../summaries.ts'
import { Scorecards } from './schemas.ts'
import { type AnalyticsContext, indexOf, iso } from './shared.ts'

/**
 * `GET /v1/analytics/scorecards`: per team (the CPIs' owner), the CPIs it can move, each with its
 * leading and lagging indicators beside it, and its share of the customer index.
 */
export function registerScorecardsRoute(http: FastifyInstance, context: AnalyticsContext): void {
  serve(
    http,
    defineRoute({
      method: 'GET',
      url: '/v1/analytics/scorecards',
      operationId: 'scorecards',
      summary:
        'Per team (the CPIs’ owner): the CPIs it can move with value, target, health, trend, their leading and lagging indicators beside them, and their points in the customer index.',
      query: analyticsWindowQuery,
      responses: { 200: { description: 'Teams in name order.', schema: Scorecards } },
      handler: async ({ query: windowMs }) =>
        context.shared.get(`scorecards ${windowMs}`, () => scorecards(context, windowMs)),
    }),
  )
}

/** The scorecards of every team from one snapshot of the window. */
async function scorecards(context: AnalyticsContext, windowMs: number) {
  const { catalog } = context
  const snapshot = await context.live.snapshot(windowMs)
  const summaries = new Map(snapshot.cpis.map((summary) => [summary.name, summary]))
  const index = indexOf(catalog, (cpi) => summaries.get(cpi)?.current ?? undefined)
  const contribution = new Map(index.components.map((component) => [component.cpi, component.contribution]))
  const teams = [...new Set(catalog.map((definition) => definition.owner))].sort()
  return {
    asOf: iso(snapshot.asOf),
    window: formatDuration(windowMs),
    index: { value: index.value, lower: index.lower, upper: index.upper, target: index.target },
    teams: teams.map((team) => teamCard(catalog, team, summaries, contribution)),
  }
}

/** A CPI in brief: its ratio against its target and its health (`no_data` without a summary). */
function brief(summaries: ReadonlyMap<string, CpiSummary>, name: string) {
  const summary = summaries.get(name)
  return {
    name,
    displayName: summary?.displayName ?? name,
    ratio: summary?.current?.ratio ?? null,
    target: summary?.objective.target ?? null,
    health: summary?.health ?? 'no_data',
  }
}

/** One team's card: its CPIs, how many are in each health, its index points (`contribution` per CPI). */
function teamCard(
  catalog: readonly CpiDefinition[],
  team: string,
  summaries: ReadonlyMap<string, CpiSummary>,
  contribution: ReadonlyMap<string, number>,
) {
  const cpis = catalog
    .filter((definition) => definition.owner === team)
    .map((definition) => {
      const summary = summaries.get(definition.name)
      return {
        ...brief(summaries, definition.name),
        good: summary?.current?.good ?? 0,
        total: summary?.current?.total ?? 0,
        pending: summary?.current?.pending ?? 0,
        trend: summary?.trend ?? null,
        firingAlerts: summary?.firingAlerts ?? 0,
        indexWeight: definition.indexWeight,
        indexPoints: contribution.get(definition.name) ?? 0,
        leading: definition.leadingIndicators.map((name) => brief(summaries, name)),
        lagging: laggingOf(catalog, definition.name).map((name) => brief(summaries, name)),
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
}
