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
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { LiveState } from './live.ts'
import { openApiDocument } from './openapi.ts'
import {
  formatDuration,
  type ParameterProblem,
  parseAlertState,
  parseBreachingParameters,
  parseSeriesParameters,
  parseWindow,
} from './params.ts'
import { prometheusExposition } from './prometheus.ts'
import { createReadCache } from './read-cache.ts'

const badRequest = (reply: FastifyReply, problems: ParameterProblem[]) =>
  reply.code(400).send({
    error: 'bad_request',
    message: problems.map((problem) => `${problem.parameter}: ${problem.message}`).join('; '),
    details: problems,
  })

const silenceView = (silence: StoredSilence, now: number) => ({
  id: silence.id,
  matchers: silence.matchers,
  startsAt: new Date(silence.startsAt).toISOString(),
  endsAt: new Date(silence.endsAt).toISOString(),
  createdBy: silence.createdBy,
  comment: silence.comment,
  state: silence.endsAt <= now ? 'expired' : silence.startsAt > now ? 'pending' : 'active',
})

/** The JSON API under /v1 (the live stream is registered beside it). */
export function registerApiRoutes(
  http: FastifyInstance,
  options: {
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
  },
): void {
  const { clickhouse, live } = options
  const now = options.now ?? Date.now
  const byName = new Map(options.catalog.map((definition) => [definition.name, definition]))
  const shared = createReadCache({ ttlMs: options.shareReadsMs ?? 1000, now })
  const seriesOf = async (query: SeriesQuery) =>
    (await options.rollups?.series(query)) ?? (await queryCpiSeries(clickhouse, query))

  http.get('/v1/openapi.json', async () => openApiDocument)

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

  // The breach queue: interactions not decided yet whose deadline is near (latency CPIs only:
  // theirs is the deadline a customer waits against). Interactions started longer ago than the
  // catalog's revision horizon (at least two weeks) are not looked at.
  const withDeadlines = options.catalog
    .filter((definition) => definition.shape === 'latency' && definition.lifecycle !== 'draft')
    .map((definition) => definition.name)
  const lookBackMs = Math.max(revisionHorizonMs(options.catalog), 14 * 86_400_000)
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

  // Every CPI's counters for Prometheus (Sloth, Pyrra, Grafana SLO, Alertmanager); one read of
  // the rollup's hour rows shared by the scrapes of a second.
  http.get('/v1/prometheus', async (_request, reply) => {
    const text = await shared.get('prometheus', async () =>
      prometheusExposition(options.catalog, await queryCpiTotals(clickhouse)),
    )
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text)
  })

  http.get('/v1/alerts', async (request, reply) => {
    const state = parseAlertState(request.query as Record<string, unknown>)
    if (!state.ok) return badRequest(reply, state.problems)
    const states = {
      active: ['pending', 'firing'],
      firing: ['firing'],
      pending: ['pending'],
      resolved: ['resolved'],
      all: [],
    } as const
    return { alerts: await live.alerts({ states: states[state.value] }) }
  })

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

  http.get('/v1/freshness', async () => live.freshness())

  // What the alerter evaluates per CPI: its burn-rate tiers scaled to the objective window, and
  // the tiers left out because they can never fire at the CPI's target.
  http.get('/v1/alert-rules', async () => ({
    policy: options.policy ?? null,
    cpis: options.catalog.map((definition) => {
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
