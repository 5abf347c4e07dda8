import { randomUUID } from 'node:crypto'
import { type AlertPolicy, burnTiers, parseSilence } from '@cpi/alerting'
import {
  type ClickHouse,
  listSilences,
  queryBreaching,
  queryCpiSeries,
  queryCpiTotals,
  type RollupCache,
  type SeriesQuery,
  type StoredSilence,
  upsertSilence,
  wholeMinutes,
} from '@cpi/clickhouse'
import { type CpiDefinition, revisionHorizonMs } from '@cpi/cpi-core'
import type { FastifyInstance } from 'fastify'
import { badRequest } from './bad-request.ts'
import type { LiveState } from './live.ts'
import { openApiDocument } from './openapi.ts'
import {
  formatDuration,
  parseAlertState,
  parseBreachingParameters,
  parseSeriesParameters,
  parseWindow,
} from './params.ts'
import { prometheusExposition } from './prometheus.ts'
import { createReadCache } from './read-cache.ts'

const silenceView = (silence: StoredSilence, now: number) => ({
  id: silence.id,
  matchers: silence.matchers,
  startsAt: new Date(silence.startsAt).toISOString(),
  endsAt: new Date(silence.endsAt).toISOString(),
  createdBy: silence.createdBy,
  comment: silence.comment,
  state: silence.endsAt <= now ? 'expired' : silence.startsAt > now ? 'pending' : 'active',
})

/** What `registerApiRoutes` takes. */
export interface ApiRoutesOptions {
  clickhouse: ClickHouse
  catalog: readonly CpiDefinition[]
  live: LiveState
  /** The alerter's policy, to describe its rules (`/v1/alert-rules`). */
  policy?: AlertPolicy
  /** Series from rollup blocks held in memory; without it every read queries the engine. */
  rollups?: RollupCache
  /** Identical reads within this many ms share one computation (default 1000). */
  shareReadsMs?: number
  now?: () => number
}

/** The options with the clock and the shared reads every group of routes uses. */
interface ApiContext extends ApiRoutesOptions {
  now: () => number
  shared: ReturnType<typeof createReadCache>
}

/** The JSON API under /v1 (the live stream is registered beside it). */
export function registerApiRoutes(http: FastifyInstance, options: ApiRoutesOptions): void {
  const now = options.now ?? Date.now
  const context: ApiContext = {
    ...options,
    now,
    shared: createReadCache({ ttlMs: options.shareReadsMs ?? 1000, now }),
  }
  http.get('/v1/openapi.json', async () => openApiDocument)
  registerCpiRoutes(http, context)
  registerBreachingRoute(http, context)
  registerPrometheusRoute(http, context)
  registerAlertsRoute(http, context)
  registerSilenceRoutes(http, context)
  http.get('/v1/freshness', async () => options.live.freshness())
  registerAlertRulesRoute(http, context)
}

/** `GET /v1/cpis` (the catalog's summaries over a window) and `GET /v1/cpis/:name` (one CPI's series). */
function registerCpiRoutes(http: FastifyInstance, context: ApiContext): void {
  const { clickhouse, live, now, shared } = context
  const byName = new Map(context.catalog.map((definition) => [definition.name, definition]))
  const seriesOf = async (query: SeriesQuery) =>
    (await context.rollups?.series(query)) ?? (await queryCpiSeries(clickhouse, query))

  http.get('/v1/cpis', async (request, reply) => {
    const window = parseWindow(request.query as Record<string, unknown>)
    if (!window.ok) return badRequest(reply, window.problems)
    const snapshot = await shared.get(`cpis ${window.value}`, () => live.snapshot(window.value))
    return {
      asOf: new Date(snapshot.asOf).toISOString(),
      window: formatDuration(window.value),
      cpis: snapshot.cpis,
    }
  })

  http.get<{ Params: { name: string } }>('/v1/cpis/:name', async (request, reply) => {
    const definition = byName.get(request.params.name)
    if (!definition)
      return reply.code(404).send({
        error: 'not_found',
        message: `expected a CPI of the catalog (${[...byName.keys()].join(', ')}), got ${JSON.stringify(request.params.name)}`,
      })
    const parsed = parseSeriesParameters(
      request.query as Record<string, unknown>,
      definition.dimensions,
      now(),
    )
    if (!parsed.ok) return badRequest(reply, parsed.problems)
    // CPI values are kept per minute of cohort time: the range is counted, and reported, in whole minutes.
    const { stepMs, by, where } = parsed.value
    const { from, to } = wholeMinutes(parsed.value.from, parsed.value.to)
    // Requests that resolve to the same whole minutes are the same read (shared within a second).
    const key = JSON.stringify([definition.name, from, to, stepMs ?? null, by ?? null, where])
    return shared.get(`series ${key}`, async () => ({
      cpi: definition.name,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      step: stepMs === undefined ? null : formatDuration(stepMs),
      by: by ?? null,
      where,
      target: definition.objective.target,
      series: await seriesOf({
        cpi: definition.name,
        from,
        to,
        ...(stepMs === undefined ? {} : { stepSeconds: stepMs / 1000 }),
        ...(by === undefined ? {} : { by }),
        where,
      }),
    }))
  })
}

/**
 * `GET /v1/breaching`, the breach queue: interactions not decided yet whose deadline is near
 * (latency CPIs only: theirs is the deadline a customer waits against). Interactions started
 * longer ago than the catalog's revision horizon (at least two weeks) are not looked at.
 */
function registerBreachingRoute(http: FastifyInstance, context: ApiContext): void {
  const { clickhouse, shared } = context
  const withDeadlines = context.catalog
    .filter((definition) => definition.shape === 'latency' && definition.lifecycle !== 'draft')
    .map((definition) => definition.name)
  const lookBackMs = Math.max(revisionHorizonMs(context.catalog), 14 * 86_400_000)
  http.get('/v1/breaching', async (request, reply) => {
    const parsed = parseBreachingParameters(request.query as Record<string, unknown>, withDeadlines)
    if (!parsed.ok) return badRequest(reply, parsed.problems)
    const { withinMs, cpi, limit } = parsed.value
    const key = JSON.stringify([withinMs, cpi ?? null, limit])
    return shared.get(`breaching ${key}`, async () => {
      const found = await queryBreaching(clickhouse, {
        cpis: cpi ? [cpi] : withDeadlines,
        withinMs,
        lookBackMs,
        limit,
      })
      return {
        within: formatDuration(withinMs),
        total: found.total,
        interactions: found.interactions.map((interaction) => ({
          cpi: interaction.cpi,
          subject: interaction.subject,
          startedAt: new Date(interaction.startedAt).toISOString(),
          deadline: new Date(interaction.deadline).toISOString(),
          dueInMs: interaction.deadline - interaction.now,
          segments: interaction.segments,
        })),
        counts: found.counts,
      }
    })
  })
}

/**
 * `GET /v1/prometheus`: every CPI's counters for Prometheus (Sloth, Pyrra, Grafana SLO,
 * Alertmanager); one read of the rollup's hour rows shared by the scrapes of a second.
 */
function registerPrometheusRoute(http: FastifyInstance, context: ApiContext): void {
  http.get('/v1/prometheus', async (_request, reply) => {
    const text = await context.shared.get('prometheus', async () =>
      prometheusExposition(context.catalog, await queryCpiTotals(context.clickhouse)),
    )
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text)
  })
}

/** The stored alert states each `state` filter of `GET /v1/alerts` stands for. */
const alertStatesOf = {
  active: ['pending', 'firing'],
  firing: ['firing'],
  pending: ['pending'],
  resolved: ['resolved'],
  all: [],
} as const

/** `GET /v1/alerts`: the alerts in the states asked for (default the active ones). */
function registerAlertsRoute(http: FastifyInstance, context: ApiContext): void {
  http.get('/v1/alerts', async (request, reply) => {
    const state = parseAlertState(request.query as Record<string, unknown>)
    if (!state.ok) return badRequest(reply, state.problems)
    return { alerts: await context.live.alerts({ states: alertStatesOf[state.value] }) }
  })
}

/** `GET`, `POST /v1/silences` and `DELETE /v1/silences/:id`: list, add and expire silences. */
function registerSilenceRoutes(http: FastifyInstance, context: ApiContext): void {
  const { clickhouse, now } = context
  http.get('/v1/silences', async () => {
    const at = now()
    return { silences: (await listSilences(clickhouse)).map((silence) => silenceView(silence, at)) }
  })

  http.post('/v1/silences', async (request, reply) => {
    const at = now()
    const parsed = parseSilence(request.body, at)
    if (!parsed.ok)
      return badRequest(
        reply,
        parsed.errors.map((error) => ({ parameter: error.path, message: error.message })),
      )
    const silence: StoredSilence = { id: randomUUID(), ...parsed.silence }
    await upsertSilence(clickhouse, silence)
    return reply.code(201).header('location', `/v1/silences/${silence.id}`).send(silenceView(silence, at))
  })

  http.delete<{ Params: { id: string } }>('/v1/silences/:id', async (request, reply) => {
    const at = now()
    const silence = (await listSilences(clickhouse)).find((candidate) => candidate.id === request.params.id)
    if (!silence)
      return reply
        .code(404)
        .send({ error: 'not_found', message: `no silence with id ${JSON.stringify(request.params.id)}` })
    // Expiring is a new version of the silence that ends now; the history stays in the table.
    if (silence.endsAt > at)
      await upsertSilence(clickhouse, { ...silence, endsAt: Math.max(at, silence.startsAt) })
    return reply.code(204).send()
  })
}

/**
 * `GET /v1/alert-rules`: what the alerter evaluates per CPI, its burn-rate tiers scaled to the
 * objective window, and the tiers left out because they can never fire at the CPI's target.
 */
function registerAlertRulesRoute(http: FastifyInstance, context: ApiContext): void {
  http.get('/v1/alert-rules', async () => ({
    policy: context.policy ?? null,
    cpis: context.catalog.map((definition) => {
      const { tiers, warnings } = burnTiers(definition.objective, definition.alerting)
      return {
        cpi: definition.name,
        target: definition.objective.target,
        objectiveWindow: formatDuration(definition.objective.window),
        alerting: definition.alerting,
        tiers: tiers.map((tier) => ({
          severity: tier.severity,
          factor: tier.factor,
          longWindow: formatDuration(tier.longMs),
          shortWindow: formatDuration(tier.shortMs),
          errorRateThreshold: tier.errorRateThreshold,
          budgetShare: tier.budgetShare,
        })),
        warnings,
      }
    }),
  }))
}
