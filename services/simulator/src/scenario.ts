import { z } from 'zod'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** A log-normal duration: median in seconds, sigma of its logarithm. */
const duration = z.object({ medianSeconds: z.number().positive(), sigma: z.number().min(0).max(3) })
export type Duration = z.infer<typeof duration>

const cpiName = z.enum([
  'fast_quote',
  'on_time_in_full',
  'nothing_broke',
  'first_time_resolution',
  'first_reply_2h',
  'phone_answer_20s',
  'csat',
  'payment_flexibility',
  'value_delivered',
])

/**
 * Everything a simulated run depends on. The same scenario and seed give the same events and
 * the same ground truth. Durations per segment follow the built-in catalog's expectations closely enough
 * that every CPI has both hits and misses.
 */
export const scenarioSchema = z.object({
  seed: z.int().default(1),
  /** New interactions per second (a Poisson process). */
  ratePerSecond: z.number().positive().max(100_000).default(2),
  mix: z
    .object({
      quote: z.number().min(0),
      delivery: z.number().min(0),
      ticket: z.number().min(0),
      call: z.number().min(0),
    })
    .default({ quote: 0.35, delivery: 0.2, ticket: 0.25, call: 0.2 }),
  /**
   * Checkouts and value credits, each a stream of its own beside the mix (so adding them left the
   * other interactions as they were): this many per interaction of `ratePerSecond`.
   */
  checkoutShare: z.number().min(0).max(10).default(0.15),
  valueShare: z.number().min(0).max(10).default(0.1),
  /** Share of finished interactions whose customer answers a survey. */
  surveyShare: z.number().min(0).max(1).default(0.2),
  /** KPI events: an order after an interaction, a churn. */
  orderShare: z.number().min(0).max(1).default(0.05),
  churnShare: z.number().min(0).max(1).default(0.005),
  /**
   * Planted CPI→KPI effects, for the linkage analytics to find (1 = no effect). A customer whose
   * delivery broke (nothing_broke a miss) places the follow-up order with probability
   * orderShare × `repeatOrderAfterBrokenFactor`; a ticket that fails first-time resolution
   * raises churnShare by `churnAfterFailedResolutionFactor` (capped at 1).
   */
  kpiEffects: z
    .object({
      repeatOrderAfterBrokenFactor: z.number().min(0).default(0.4),
      churnAfterFailedResolutionFactor: z.number().min(0).default(3),
    })
    .prefault({}),
  /** Faults of delivery: the same event twice, completion before start, late arrival, invalid events. */
  duplicateShare: z.number().min(0).max(1).default(0.02),
  outOfOrderShare: z.number().min(0).max(1).default(0.03),
  lateShare: z.number().min(0).max(1).default(0.03),
  lateMaxMs: z
    .number()
    .int()
    .min(0)
    .default(2 * MINUTE),
  malformedShare: z.number().min(0).max(1).default(0.005),
  latency: z
    .object({
      quoteConsumer: z.record(z.string(), duration).default({
        web: { medianSeconds: 10, sigma: 0.8 },
        phone: { medianSeconds: 18, sigma: 0.8 },
        agent: { medianSeconds: 24, sigma: 0.7 },
        broker: { medianSeconds: 30, sigma: 0.7 },
        partner: { medianSeconds: 14, sigma: 0.8 },
      }),
      quoteBusiness: duration.default({ medianSeconds: 4 * 3600, sigma: 1 }),
      firstReply: z.record(z.string(), duration).default({
        email: { medianSeconds: 45 * 60, sigma: 0.9 },
        chat: { medianSeconds: 120, sigma: 1.2 },
        web: { medianSeconds: 60 * 60, sigma: 1 },
        phone: { medianSeconds: 30, sigma: 0.5 },
      }),
      resolution: duration.default({ medianSeconds: 5 * 3600, sigma: 1.3 }),
      callWait: z.record(z.string(), duration).default({
        claims: { medianSeconds: 12, sigma: 0.7 },
        billing: { medianSeconds: 8, sigma: 0.7 },
        sales: { medianSeconds: 6, sigma: 0.6 },
      }),
      callerPatience: duration.default({ medianSeconds: 60, sigma: 0.8 }),
    })
    // prefault: an absent or partial object is parsed, so every inner default applies.
    .prefault({}),
  /** Planted drops: in a time range and segment, the CPI's service gets `latencyFactor` times slower. */
  drops: z
    .array(
      z.object({
        cpi: cpiName,
        where: z.record(z.string(), z.string()).default({}),
        from: z.iso.datetime({ offset: true }),
        to: z.iso.datetime({ offset: true }),
        latencyFactor: z.number().positive(),
      }),
    )
    .default([]),
  /** An A/B experiment on quotes: variant weights, and each variant's effect on latency and acceptance. */
  experiment: z
    .object({
      id: z.string().min(1),
      variants: z.record(z.string(), z.number().positive()),
      latencyFactor: z.record(z.string(), z.number().positive()).default({}),
      acceptanceFactor: z.record(z.string(), z.number().positive()).default({}),
    })
    .optional(),
})

export type Scenario = z.infer<typeof scenarioSchema>
export type CpiName = z.infer<typeof cpiName>

export function parseScenario(input: unknown = {}): Scenario {
  return scenarioSchema.parse(input)
}

export const durations = { MINUTE, HOUR, DAY }
