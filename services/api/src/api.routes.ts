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
import { type CpiDefinition, exportOpenSlo, openSloSli, openSloSlo, revisionHorizonMs } from '@cpi/cpi-core'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { customerValueRoute } from './customers.routes.ts'
import type { LiveState } from './live.ts'
import { documentedAs, type OpenApiDocument, openApiDocument } from './openapi.ts'
import {
  alertStateQuery,
  breachingQuery,
  formatDuration,
  type SeriesParameters,
  seriesQuery,
  windowQuery,
} from './params.ts'
import { prometheusExposition } from './prometheus.ts'
import { createReadCache } from './read-cache.ts'
import { declaredRoutes, defineRoute, serve } from './route.ts'
import {
  Alert,
  AlertRules,
  Breaching,
  CpiSummary,
  Freshness,
  isoTime,
  Problem,
  Series,
  Silence,
  SilenceRequest,
} from './schemas.ts'

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

/** The JSON API under /v1 (the live stream is registered beside it), and its OpenAPI document. */
export function registerApiRoutes(http: FastifyInstance, options: ApiRoutesOptions): void {
  const now = options.now ?? Date.now
  const context: ApiContext = {
    ...options,
    now,
    shared: createReadCache({ ttlMs: options.shareReadsMs ?? 1000, now }),
  }
  serve(http, listCpisRoute(context))
  serve(http, cpiSeriesRoute(context))
  serve(http, openSloRoute(context))
  serve(http, alertsRoute(context))
  serve(http, listSilencesRoute(context))
  serve(http, createSilenceRoute(context))
  serve(http, expireSilenceRoute(context))
  serve(http, freshnessRoute(context))
  serve(http, breachingRoute(context))
  serve(http, prometheusRoute(context))
  serve(http, alertRulesRoute(context))
  serve(http, customerValueRoute(context))
  serve(http, openApiRoute(http))
}

/** The `name` path parameter of a CPI's routes: a CPI of the catalog, else 404 naming them. */
function cpiNameParams(byName: ReadonlyMap<string, CpiDefinition>) {
  const names = [...byName.keys()].join(', ')
  return z.object({
    name: z
      .string()
      .refine((name) => byName.has(name), {
        error: (issue) => `expected a CPI of the catalog (${names}), got ${JSON.stringify(issue.input)}`,
      })
      .describe('A CPI of the catalog.'),
  })
}

/** `GET /v1/cpis/:name/openslo`: the CPI as OpenSLO v1 documents (as `bin/cpi openslo export`). */
function openSloRoute({ catalog }: ApiContext) {
  const byName = new Map(catalog.map((definition) => [definition.name, definition]))
  return defineRoute({
    method: 'GET',
    url: '/v1/cpis/:name/openslo',
    operationId: 'cpiOpenSlo',
    summary:
      'The CPI as OpenSLO v1 documents: its SLI (good over known outcomes, as Prometheus queries of /v1/prometheus, carrying the definition) and its SLO (target over the window). `bin/cpi openslo import` reads them back.',
    params: cpiNameParams(byName),
    responses: {
      200: { description: 'The SLI, then the SLO.', schema: z.tuple([openSloSli, openSloSlo]) },
      404: { description: 'No CPI of that name.', schema: Problem },
    },
    handler: async ({ params }) => exportOpenSlo(byName.get(params.name) as CpiDefinition),
  })
}

/** `GET /v1/cpis`: the catalog's summaries over a window. */
function listCpisRoute({ live, shared }: ApiContext) {
  return defineRoute({
    method: 'GET',
    url: '/v1/cpis',
    operationId: 'listCpis',
    summary:
      'The catalog, each CPI with its current value, the previous window, target, health and a sparkline.',
    query: windowQuery,
    responses: {
      200: {
        description: 'The catalog as of the pipeline watermark.',
        schema: z.object({ asOf: isoTime, window: z.string(), cpis: z.array(CpiSummary) }),
      },
    },
    handler: async ({ query }) => {
      const snapshot = await shared.get(`cpis ${query.window}`, () => live.snapshot(query.window))
      return {
        asOf: new Date(snapshot.asOf).toISOString(),
        window: formatDuration(query.window),
        cpis: snapshot.cpis,
      }
    },
  })
}

/** `GET /v1/cpis/:name`: one CPI's series, its parameters checked against its own dimensions. */
function cpiSeriesRoute(context: ApiContext) {
  const { clickhouse, now, shared } = context
  const byName = new Map(context.catalog.map((definition) => [definition.name, definition]))
  const queries = new Map(context.catalog.map((cpi) => [cpi.name, seriesQuery(cpi.dimensions, now)]))
  const documented = seriesQuery([], now)
  const seriesOf = async (query: SeriesQuery) =>
    (await context.rollups?.series(query)) ?? (await queryCpiSeries(clickhouse, query))
  return defineRoute({
    method: 'GET',
    url: '/v1/cpis/:name',
    operationId: 'cpiSeries',
    summary: 'A series of CPI values; without step one value for the whole range; by groups by a dimension.',
    params: cpiNameParams(byName),
    query: documented,
    queryFor: ({ name }) => queries.get(name) ?? documented,
    responses: {
      200: { description: 'One series per segment (`all` without by).', schema: Series },
      404: { description: 'No CPI of that name.', schema: Problem },
    },
    handler: async ({ params, query }) => {
      const definition = byName.get(params.name) as CpiDefinition
      const read = seriesRead(definition, query)
      // Requests that resolve to the same whole minutes are the same read (shared within a second).
      return shared.get(`series ${read.key}`, async () => ({
        ...read.answer,
        series: await seriesOf(read.query),
      }))
    },
  })
}

/**
 * The read a series request makes. CPI values are kept per minute of cohort time: the range is
 * counted, and reported, in whole minutes.
 */
function seriesRead(definition: CpiDefinition, parameters: SeriesParameters) {
  const { stepMs, by, where } = parameters
  const { from, to } = wholeMinutes(parameters.from, parameters.to)
  const query: SeriesQuery = {
    cpi: definition.name,
    from,
    to,
    ...(stepMs === undefined ? {} : { stepSeconds: stepMs / 1000 }),
    ...(by === undefined ? {} : { by }),
    where,
  }
  return {
    key: JSON.stringify([definition.name, from, to, stepMs ?? null, by ?? null, where]),
    query,
    answer: {
      cpi: definition.name,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      step: stepMs === undefined ? null : formatDuration(stepMs),
      by: by ?? null,
      where,
      target: definition.objective.target,
    },
  }
}

/**
 * `GET /v1/breaching`, the breach queue: interactions not decided yet whose deadline is near
 * (latency CPIs only: theirs is the deadline a customer waits against). Interactions started
 * longer ago than the catalog's revision horizon (at least two weeks) are not looked at.
 */
function breachingRoute(context: ApiContext) {
  const { clickhouse, shared } = context
  const withDeadlines = context.catalog
    .filter((definition) => definition.shape === 'latency' && definition.lifecycle !== 'draft')
    .map((definition) => definition.name)
  const lookBackMs = Math.max(revisionHorizonMs(context.catalog), 14 * 86_400_000)
  return defineRoute({
    method: 'GET',
    url: '/v1/breaching',
    operationId: 'breaching',
    summary:
      'The breach queue: interactions not decided yet whose deadline comes within `within` of their partition’s watermark, soonest first, and how many per CPI and segment.',
    description:
      'Latency CPIs only; deadlines are in working time on a business-hours calendar and moved by paused time. An interaction whose clock is paused is not listed until it resumes. `dueInMs` is negative for one past its deadline that the processor has not decided yet.',
    query: breachingQuery(withDeadlines),
    responses: { 200: { description: 'The interactions about to breach.', schema: Breaching } },
    handler: async ({ query }) => {
      const { withinMs, cpi, limit } = query
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
    },
  })
}

/**
 * `GET /v1/prometheus`: every CPI's counters for Prometheus (Sloth, Pyrra, Grafana SLO,
 * Alertmanager); one read of the rollup's hour rows shared by the scrapes of a second.
 */
function prometheusRoute(context: ApiContext) {
  return defineRoute({
    method: 'GET',
    url: '/v1/prometheus',
    operationId: 'prometheus',
    summary:
      "Every CPI's counts in the Prometheus text format, for SLO tools that compute ratios from counters (Sloth, Pyrra, Grafana SLO) and Alertmanager rules.",
    description:
      'cpi_outcomes_good_total and cpi_outcomes_total (good + bad) as counters of final outcomes, cpi_outcomes_provisional (goods whose follow-up window is open) and cpi_outcomes_pending as gauges, labelled cpi, dimension (`all` for the whole CPI) and value — per dimension the 20 values with the most outcomes, the rest summed under value="(other)" — and cpi_objective_target per CPI (draft CPIs left out). Counts are over all history by cohort; a revision (late data, a recompute) can lower them, which Prometheus reads as a counter reset.',
    responses: {
      200: {
        description: 'The exposition (text/plain; version=0.0.4).',
        type: 'text/plain',
        schema: z.string(),
      },
    },
    handler: async (_input, _request, reply) => {
      const text = await context.shared.get('prometheus', async () =>
        prometheusExposition(context.catalog, await queryCpiTotals(context.clickhouse)),
      )
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text)
    },
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
function alertsRoute(context: ApiContext) {
  return defineRoute({
    method: 'GET',
    url: '/v1/alerts',
    operationId: 'listAlerts',
    summary: 'Alerts by their latest state.',
    query: alertStateQuery,
    responses: {
      200: { description: 'Alerts, newest first.', schema: z.object({ alerts: z.array(Alert) }) },
    },
    handler: async ({ query }) => ({
      alerts: await context.live.alerts({ states: alertStatesOf[query.state] }),
    }),
  })
}

/** `GET /v1/silences`: every silence with its state. */
function listSilencesRoute({ clickhouse, now }: ApiContext) {
  return defineRoute({
    method: 'GET',
    url: '/v1/silences',
    operationId: 'listSilences',
    summary: 'Every silence with its state (pending, active, expired).',
    responses: { 200: { description: 'Silences.', schema: z.object({ silences: z.array(Silence) }) } },
    handler: async () => {
      const at = now()
      return { silences: (await listSilences(clickhouse)).map((silence) => silenceView(silence, at)) }
    },
  })
}

/** The body of `POST /v1/silences`, checked by @cpi/alerting (as the alerter's own silences are). */
const silenceBody = (now: () => number) =>
  documentedAs(
    z.unknown().transform((input, payload) => {
      const at = now()
      const parsed = parseSilence(input, at)
      if (parsed.ok) return { silence: parsed.silence, at }
      for (const error of parsed.errors)
        payload.issues.push({ code: 'custom', message: error.message, input, path: [error.path] })
      return z.NEVER
    }),
    SilenceRequest,
  )

/** `POST /v1/silences`: adds a silence. */
function createSilenceRoute({ clickhouse, now }: ApiContext) {
  return defineRoute({
    method: 'POST',
    url: '/v1/silences',
    operationId: 'createSilence',
    summary: 'Silence the notifications of alerts whose labels match every matcher.',
    description: 'Needs a key with the scope `admin`.',
    body: silenceBody(now),
    responses: { 201: { description: 'Created.', schema: Silence } },
    handler: async ({ body }, _request, reply) => {
      const silence: StoredSilence = { id: randomUUID(), ...body.silence }
      await upsertSilence(clickhouse, silence)
      return reply
        .code(201)
        .header('location', `/v1/silences/${silence.id}`)
        .send(silenceView(silence, body.at))
    },
  })
}

/** `DELETE /v1/silences/:id`: expires a silence now. */
function expireSilenceRoute({ clickhouse, now }: ApiContext) {
  return defineRoute({
    method: 'DELETE',
    url: '/v1/silences/:id',
    operationId: 'expireSilence',
    summary: 'Expire a silence now (its history stays).',
    description: 'Needs a key with the scope `admin`.',
    params: z.object({ id: z.string() }),
    responses: {
      204: { description: 'Expired.' },
      404: { description: 'No silence with that id.', schema: Problem },
    },
    handler: async ({ params }, _request, reply) => {
      const at = now()
      const silence = (await listSilences(clickhouse)).find((candidate) => candidate.id === params.id)
      if (!silence)
        return reply
          .code(404)
          .send({ error: 'not_found', message: `no silence with id ${JSON.stringify(params.id)}` })
      // Expiring is a new version of the silence that ends now; the history stays in the table.
      if (silence.endsAt > at)
        await upsertSilence(clickhouse, { ...silence, endsAt: Math.max(at, silence.startsAt) })
      return reply.code(204).send()
    },
  })
}

/** `GET /v1/freshness`: how current the CPIs are. */
function freshnessRoute({ live }: ApiContext) {
  return defineRoute({
    method: 'GET',
    url: '/v1/freshness',
    operationId: 'freshness',
    summary:
      'How current the CPIs are: watermark and latest event time per partition, consumer lag, events stored beyond the revision horizon.',
    responses: { 200: { description: 'Freshness.', schema: Freshness } },
    handler: async () => live.freshness(),
  })
}

/**
 * `GET /v1/alert-rules`: what the alerter evaluates per CPI, its burn-rate tiers scaled to the
 * objective window, and the tiers left out because they can never fire at the CPI's target.
 */
function alertRulesRoute(context: ApiContext) {
  return defineRoute({
    method: 'GET',
    url: '/v1/alert-rules',
    operationId: 'alertRules',
    summary:
      "The alerter's policy and, per CPI, its burn-rate tiers scaled to the objective window, with warnings for tiers that can never fire at the CPI's target.",
    responses: { 200: { description: 'Alert rules.', schema: AlertRules } },
    handler: async () => ({
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
    }),
  })
}

/** `GET /v1/openapi.json`: the document of every route declared on `http`, written once. */
function openApiRoute(http: FastifyInstance) {
  let document: OpenApiDocument | undefined
  return defineRoute({
    method: 'GET',
    url: '/v1/openapi.json',
    operationId: 'openApi',
    summary: 'This document.',
    responses: { 200: { description: 'OpenAPI 3.1.', type: 'application/json' } },
    handler: async () => {
      document ??= openApiDocument(declaredRoutes(http))
      return document
    },
  })
}
