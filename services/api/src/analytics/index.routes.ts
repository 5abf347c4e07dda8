import type { FastifyInstance } from 'fastify'
import { analyticsWindowQuery, formatDuration } from '../params.ts'
import { defineRoute, serve } from '../route.ts'
import { IndexSeries } from './schemas.ts'
import { type AnalyticsContext, indexOf, iso } from './shared.ts'

/** Windows of the index's series. */
const WINDOWS = 30

/**
 * `GET /v1/analytics/index`: the shared customer index, its value per window (default 30 windows
 * of 1 day) and the latest window's components.
 */
export function registerIndexRoute(http: FastifyInstance, context: AnalyticsContext): void {
  serve(
    http,
    defineRoute({
      method: 'GET',
      url: '/v1/analytics/index',
      operationId: 'customerIndex',
      summary:
        'The one customer index every team shares: the weighted mean of the CPIs’ ratios (weights `indexWeight` in the catalog), 0–100, per window for 30 windows and its latest components.',
      query: analyticsWindowQuery,
      responses: { 200: { description: 'Windows end at the pipeline watermark.', schema: IndexSeries } },
      handler: async ({ query: windowMs }) =>
        context.shared.get(`index ${windowMs}`, () => customerIndexView(context, windowMs)),
    }),
  )
}

/** The index over the last WINDOWS windows of `windowMs` ending at the watermark. */
async function customerIndexView(context: AnalyticsContext, windowMs: number) {
  const { catalog } = context
  const { asOf, byCpi } = await context.live.windows(windowMs, WINDOWS)
  /** The index of the window starting at `start`. */
  const indexAt = (start: number) =>
    indexOf(catalog, (cpi) => byCpi.get(cpi)?.find((p) => Date.parse(p.windowStart) === start))
  const series = Array.from({ length: WINDOWS }, (_, k) => {
    const start = asOf - (WINDOWS - k) * windowMs
    const index = indexAt(start)
    return {
      windowStart: iso(start),
      value: index.value,
      lower: index.lower,
      upper: index.upper,
      target: index.target,
      coverage: index.coverage,
    }
  })
  return {
    asOf: iso(asOf),
    window: formatDuration(windowMs),
    weights: Object.fromEntries(catalog.map((definition) => [definition.name, definition.indexWeight])),
    current: indexAt(asOf - windowMs),
    series,
  }
}
