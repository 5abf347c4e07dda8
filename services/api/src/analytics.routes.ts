import type { FastifyInstance } from 'fastify'
import { registerExperimentsRoute } from './analytics/experiments.routes.ts'
import { registerIndexRoute } from './analytics/index.routes.ts'
import { registerLinkageRoute } from './analytics/linkage.routes.ts'
import { registerPerceptionRoute } from './analytics/perception.routes.ts'
import { registerScorecardsRoute } from './analytics/scorecards.routes.ts'
import { type AnalyticsOptions, analyticsContext } from './analytics/shared.ts'

// The customer-centric analytics (docs/analytics.md): perception vs performance, CPI → KPI links,
// experiments, the shared customer index and team scorecards, one file per view under
// analytics/. ClickHouse counts (@cpi/clickhouse tables/analytics.ts); @cpi/analytics does the
// statistics; which KPIs and links are reported is cpi-core's KPI catalog (catalog/kpis.json).

export { domainOf } from '@cpi/cpi-core'
export { type AnalyticsOptions, indexOf } from './analytics/shared.ts'

/** Registers every analytics view under /v1/analytics; throws for a KPI or link the catalogs cannot back. */
export function registerAnalyticsRoutes(http: FastifyInstance, options: AnalyticsOptions): void {
  const context = analyticsContext(options)
  registerPerceptionRoute(http, context)
  registerLinkageRoute(http, context)
  registerExperimentsRoute(http, context)
  registerIndexRoute(http, context)
  registerScorecardsRoute(http, context)
}
