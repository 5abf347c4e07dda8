import { valueKinds } from '@cpi/schemas'
import { z } from 'zod'

// The shapes the API answers with, as zod schemas: the OpenAPI document's components (each with
// its `id`) and the pieces routes build their answers' schemas from.

/** An instant as ISO 8601 UTC. */
export const isoTime = z.string().meta({ format: 'date-time' })
const health = z.enum(['ok', 'at_risk', 'breached', 'no_data'])
const alerting = z.enum(['page', 'ticket', 'none'])

/** Every error answer: a stable word, what was expected and what came, each bad parameter. */
export const Problem = z
  .object({
    error: z.string(),
    message: z.string(),
    details: z.array(z.object({ parameter: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' })

export const Point = z
  .object({
    windowStart: isoTime,
    good: z.int().describe('Interactions that met the expectation.'),
    total: z.int().describe('Interactions whose outcome is known (good + bad).'),
    pending: z.int().describe('Interactions not decided yet (deadline ahead).'),
    ratio: z.number().nullable().describe('good / total; null when total is 0.'),
    p50: z
      .number()
      .nullable()
      .describe(
        'Latency percentile in ms over known outcomes, open ones measured up to the watermark (R2); null where the CPI measures none.',
      ),
    p90: z.number().nullable(),
    p99: z.number().nullable(),
    status: z.enum(['provisional', 'final']).describe('provisional while any outcome may still change (R4).'),
  })
  .meta({ id: 'Point' })

export const CpiSummary = z
  .object({
    name: z.string(),
    displayName: z.string(),
    description: z.string(),
    owner: z.string(),
    shape: z.enum(['latency', 'condition', 'survey']),
    version: z.int(),
    dimensions: z.array(z.string()),
    objective: z.object({ target: z.number(), window: z.string() }),
    alerting,
    leadingIndicators: z.array(z.string()),
    laggingIndicators: z
      .array(z.string())
      .describe('CPIs that name this one among their leading indicators.'),
    indexWeight: z.number().describe('Weight in the shared customer index.'),
    current: Point.nullable(),
    previous: Point.nullable(),
    trend: z.number().nullable().describe('current.ratio − previous.ratio'),
    health,
    firingAlerts: z.int(),
    sparkline: z.array(z.object({ windowStart: isoTime, ratio: z.number().nullable() })),
  })
  .meta({ id: 'CpiSummary' })

export const Series = z
  .object({
    cpi: z.string(),
    from: isoTime,
    to: isoTime,
    step: z.string().nullable(),
    by: z.string().nullable(),
    where: z.record(z.string(), z.string()),
    target: z.number(),
    series: z.array(z.object({ segment: z.string(), points: z.array(Point) })),
  })
  .meta({ id: 'Series' })

export const Alert = z
  .object({
    fingerprint: z.string(),
    labels: z
      .record(z.string(), z.string())
      .describe('alertname, cpi, dimension, segment, severity (page, ticket), rule.'),
    annotations: z
      .record(z.string(), z.string())
      .describe('summary, description, runbook, dashboard, cpiDisplayName.'),
    state: z.enum(['pending', 'firing', 'resolved']),
    activeSince: isoTime,
    firedAt: isoTime.nullable(),
    resolvedAt: isoTime.nullable(),
    value: z.number(),
    threshold: z.number(),
    silenced: z.boolean(),
    silencedBy: z.array(z.string()),
  })
  .meta({ id: 'Alert' })

const matcher = z.object({ name: z.string(), value: z.string(), isRegex: z.boolean().optional() })

export const Silence = z
  .object({
    id: z.string(),
    matchers: z.array(matcher),
    startsAt: isoTime,
    endsAt: isoTime,
    createdBy: z.string(),
    comment: z.string(),
    state: z.enum(['pending', 'active', 'expired']),
  })
  .meta({ id: 'Silence' })

/** The body of `POST /v1/silences` as the document shows it (@cpi/alerting's parseSilence checks it). */
export const SilenceRequest = z.object({
  matchers: z.array(matcher).min(1),
  startsAt: isoTime.optional(),
  endsAt: isoTime.optional(),
  duration: z.string().optional().describe('Instead of endsAt: 30m, 2h, 1d …'),
  createdBy: z.string().optional(),
  comment: z.string().optional(),
})

const partitionWatermark = { topic: z.string(), partition: z.int(), watermark: isoTime }

export const Freshness = z
  .object({
    now: isoTime,
    watermark: isoTime.nullable(),
    alertingWatermark: isoTime
      .nullable()
      .describe(
        "The lowest watermark over the events topic's partitions: the event time alerts are evaluated up to.",
      ),
    freshnessMs: z.number().nullable().describe('now − the latest event time processed.'),
    partitions: z.array(z.object({ ...partitionWatermark, maxEventTime: isoTime, updatedAt: isoTime })),
    stalled: z
      .array(
        z.object({
          ...partitionWatermark,
          since: isoTime.describe('Wall time the watermark has stood still since.'),
        }),
      )
      .describe(
        'Partitions whose PipelineStalled alert fires (CPI_ALERT_STALL_MS without advancing): where alerting waits.',
      ),
    consumerLag: z.int().nullable().describe('Messages the processor group has yet to consume.'),
    beyondHorizon: z
      .object({
        events: z.int().describe('How many, each event (source, id) once.'),
        latestAt: isoTime.nullable().describe('When the newest of them was stored; null without any.'),
      })
      .describe(
        "Events of the events topic stored beyond the revision horizon (`too_late`: older than their source's latest event on their partition by more than CPI_ALLOWED_LATENESS_MS): kept, counted, left out of the CPIs until `cpi recompute --include-late` brings them in. Read at most every 5 s.",
      ),
  })
  .meta({ id: 'Freshness' })

/** The burn-rate tiers the alerter evaluates per CPI. */
export const AlertRules = z.object({
  policy: z.looseObject({}).nullable(),
  cpis: z.array(
    z.object({
      cpi: z.string(),
      target: z.number(),
      objectiveWindow: z.string(),
      alerting,
      tiers: z.array(
        z.object({
          severity: z.enum(['page', 'ticket']),
          factor: z.number(),
          longWindow: z.string(),
          shortWindow: z.string(),
          errorRateThreshold: z.number(),
          budgetShare: z.number(),
        }),
      ),
      warnings: z.array(z.string()),
    }),
  ),
})

/** The breach queue: interactions about to miss their deadline, and how many per CPI and segment. */
export const Breaching = z.object({
  within: z.string(),
  total: z.int().describe('Interactions about to breach, over all pages.'),
  interactions: z.array(
    z.object({
      cpi: z.string(),
      subject: z.string(),
      startedAt: isoTime,
      deadline: isoTime,
      dueInMs: z.int().describe('Deadline minus the partition watermark.'),
      segments: z.record(z.string(), z.string()),
    }),
  ),
  counts: z
    .array(z.object({ cpi: z.string(), dimension: z.string(), value: z.string(), count: z.int() }))
    .describe('Per CPI: the whole CPI (dimension `all`) and each segment value.'),
})

/** A CPI in brief, as the scorecards list a CPI and its leading and lagging indicators. */
export const CpiBrief = z.object({
  name: z.string(),
  displayName: z.string(),
  ratio: z.number().nullable(),
  target: z.number().nullable(),
  health,
})

/** The kinds of value a `value.credited` event carries: the event contract's own `data.kind`. */
const valueKind = z.enum(valueKinds)

/** A customer's value ledger: what was credited to the customer over the relationship. */
export const CustomerValue = z
  .object({
    customerId: z.string(),
    from: isoTime.nullable().describe('Credits at or after this time; null: from the first.'),
    to: isoTime.nullable().describe('Credits before this time; null: up to the newest.'),
    kind: valueKind.nullable(),
    credits: z
      .int()
      .describe(
        'Credits in the range (each identity once, as its first accepted copy; those stored too late included).',
      ),
    firstCreditedAt: isoTime.nullable(),
    lastCreditedAt: isoTime.nullable(),
    totals: z
      .array(
        z.object({
          kind: valueKind,
          unit: z.string().describe('An ISO 4217 code for money, else the measure (hours, kWh, claims).'),
          amount: z.number().describe('Sum of the credited amounts.'),
          promised: z.number().describe('Sum of what was promised, over the credits with a promise.'),
          credits: z.int(),
          creditsWithPromise: z.int(),
          metPromise: z
            .int()
            .describe(
              'Credits with a promise whose amount reached it: the value_delivered CPI’s good for this customer, but for credits stored too late (counted here, not there).',
            ),
          ratio: z.number().nullable().describe('metPromise / creditsWithPromise; null without a promise.'),
        }),
      )
      .describe('Per kind and unit, in that order: amounts of different units are never added.'),
    recent: z
      .array(
        z.object({
          id: z.string(),
          source: z.string(),
          creditedAt: isoTime,
          kind: z.string(),
          amount: z.number(),
          unit: z.string(),
          promised: z.number().nullable(),
          period: z.string().nullable(),
        }),
      )
      .describe('A page of the credits, newest first.'),
    nextCursor: z
      .string()
      .nullable()
      .describe('Pass as `cursor` for the next (older) page; null on the last page.'),
  })
  .meta({ id: 'CustomerValue' })
