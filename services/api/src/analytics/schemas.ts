import { z } from 'zod'
import { CpiBrief, isoTime } from '../schemas.ts'

// The analytics views' answers as zod schemas: the OpenAPI document's components (each with its
// `id`) and what the views' routes declare.

const interval = z.object({ lower: z.number(), upper: z.number() })
const proportion = z
  .object({ estimate: z.number().nullable(), lower: z.number(), upper: z.number() })
  .describe(
    'A proportion with its Wilson interval (95 %; in experiments 1 − alpha); estimate null without trials.',
  )
const withRate = z.object({ successes: z.int(), trials: z.int(), rate: proportion })
const counts = z.object({ successes: z.int(), trials: z.int() })

export const Difference = z
  .object({ difference: z.number(), interval, z: z.number(), pValue: z.number() })
  .describe(
    'A difference between two groups (B − A, or met − missed) with its interval and two-sided p-value.',
  )
  .meta({ id: 'Difference' })

const GroupPerception = z
  .object({
    interactions: z.int(),
    responses: z.int(),
    responseRate: proportion,
    csat: proportion
      .extend({ responses: z.int(), satisfied: z.int() })
      .describe('Top-two-box share (4–5 of 5) with its Wilson interval.'),
    nps: z
      .object({
        responses: z.int(),
        promoters: z.int(),
        passives: z.int(),
        detractors: z.int(),
        score: z.number().nullable(),
        standardError: z.number().nullable(),
        lower: z.number(),
        upper: z.number(),
      })
      .describe('Net Promoter Score in points, promoters 9–10, detractors 0–6.'),
    ces: z
      .object({
        responses: z.int(),
        mean: z.number().nullable(),
        standardDeviation: z.number().nullable(),
        interval: interval.nullable(),
      })
      .describe('Customer Effort Score: mean of 1–7.'),
  })
  .meta({ id: 'GroupPerception' })

export const Perception = z
  .object({
    cpi: z.string(),
    displayName: z.string(),
    subjectType: z.string(),
    met: GroupPerception,
    missed: GroupPerception,
    gap: z
      .object({ csat: Difference.nullable(), nps: Difference.nullable(), ces: Difference.nullable() })
      .describe('met − missed; null where a group has too few responses.'),
    responseRateGap: Difference.nullable(),
  })
  .meta({ id: 'Perception' })

export const Link = z
  .object({
    name: z.string(),
    cpi: z.string(),
    kpi: z.string(),
    groupedBy: z.string(),
    higherIsBetter: z.boolean(),
    observational: z.literal(true),
    groups: z.array(
      z.object({
        group: z.string(),
        trials: z.int(),
        successes: z.int(),
        followUpComplete: z
          .int()
          .nullable()
          .describe('Interactions whose 90-day follow-up has fully passed as of the watermark.'),
        rate: proportion,
      }),
    ),
    comparisons: z.array(Difference.extend({ group: z.string(), versus: z.string() })),
  })
  .meta({ id: 'Link' })

const comparison = Difference.extend({
  metric: z.enum(['cpi', 'kpi']),
  variant: z.string(),
  versus: z.string(),
  requiredPerArm: z.int().nullable(),
  remainingPerArm: z.int().nullable(),
  horizonReached: z.boolean(),
  plannedFromBaseline: z
    .boolean()
    .describe(
      'The planned size came from the registered baseline (else from the control’s observed rate, which moves).',
    ),
  atHorizon: Difference.extend({ perArm: z.int(), a: counts, b: counts })
    .nullable()
    .describe(
      'The test on exactly the first requiredPerArm interactions of each arm: what the decision rests on.',
    ),
  decision: z
    .enum(['collecting', 'significant', 'not_significant'])
    .describe('collecting before the horizon; then the test at the horizon decides, once.'),
})

export const ExperimentCpi = z
  .object({
    cpi: z.string(),
    displayName: z.string(),
    kpi: z.string().nullable(),
    kpiFollowUpComplete: z
      .record(z.string(), z.int().nullable())
      .describe(
        'Per arm: interactions whose KPI follow-up window has closed (null without a KPI); the others may still convert.',
      ),
    control: z.string(),
    design: z.object({ alpha: z.number(), power: z.number(), minimumDetectableEffect: z.number() }),
    arms: z.array(z.object({ variant: z.string(), cpi: withRate, kpi: withRate.nullable() })),
    comparisons: z.array(comparison),
  })
  .meta({ id: 'ExperimentCpi' })

/** The index's value with its interval, and the same weighted mean of the targets. */
const indexValue = {
  value: z.number().nullable(),
  lower: z.number().nullable(),
  upper: z.number().nullable(),
  target: z.number().nullable().describe('The same weighted mean of the targets.'),
}

export const CustomerIndex = z
  .object({
    ...indexValue,
    coverage: z.number().describe('Share of the total weight whose CPI had data.'),
    components: z.array(
      z.object({
        cpi: z.string(),
        weight: z.number(),
        share: z.number(),
        ratio: z.number().nullable(),
        total: z.int(),
        contribution: z.number().describe('Index points this CPI adds.'),
      }),
    ),
  })
  .meta({ id: 'CustomerIndex' })

export const Scorecard = z
  .object({
    team: z.string(),
    indexPoints: z.number(),
    health: z.object({ ok: z.int(), at_risk: z.int(), breached: z.int(), no_data: z.int() }),
    cpis: z.array(
      CpiBrief.extend({
        good: z.int(),
        total: z.int(),
        pending: z.int(),
        trend: z.number().nullable(),
        firingAlerts: z.int(),
        indexWeight: z.number(),
        indexPoints: z.number(),
        leading: z.array(CpiBrief),
        lagging: z.array(CpiBrief),
      }),
    ),
  })
  .meta({ id: 'Scorecard' })

/** The answer of `GET /v1/analytics/experiments`. */
export const Experiments = z.object({
  from: isoTime,
  to: isoTime,
  design: z.object({
    minimumDetectableEffect: z.number(),
    alpha: z.number(),
    power: z.number(),
    rule: z.string(),
  }),
  experiments: z.array(
    z.object({
      id: z.string(),
      designSource: z
        .enum(['registered', 'request'])
        .describe('The design applied: registered in CPI_EXPERIMENTS_FILE, or the request parameters.'),
      description: z.string().nullable(),
      conflictingAssignments: z
        .int()
        .describe(
          'Interactions whose events carried more than one experiment or variant (the first counts).',
        ),
      cpis: z.array(ExperimentCpi),
    }),
  ),
})

/** The answer of `GET /v1/analytics/index`. */
export const IndexSeries = z.object({
  asOf: isoTime,
  window: z.string(),
  weights: z.record(z.string(), z.number()),
  current: CustomerIndex,
  series: z.array(
    z.object({
      windowStart: isoTime,
      ...indexValue,
      target: z
        .number()
        .nullable()
        .describe('The weighted target of the CPIs with data in the window (it moves with coverage).'),
      coverage: z.number(),
    }),
  ),
})

/** The answer of `GET /v1/analytics/scorecards`. */
export const Scorecards = z.object({
  asOf: isoTime,
  window: z.string(),
  index: z.object({
    value: z.number().nullable(),
    lower: z.number().nullable(),
    upper: z.number().nullable(),
    target: z.number().nullable(),
  }),
  teams: z.array(Scorecard),
})
