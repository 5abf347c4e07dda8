import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineQuery } from '../query.ts'

// The counts behind the customer-centric analytics (docs/analytics.md): survey responses joined
// to the rated interaction's outcome, KPI events (acceptances, orders, churn) joined to the CPI
// outcome of the interaction before them, and both per experiment arm. Pure statistics on these
// counts live in @cpi/analytics. Each read takes interactions by cohort (their first event) in
// [from, to) with a known outcome (good or bad; pending ones are not yet evidence), and counts a
// duplicate event once (existence, min, any — never sums over raw rows).

/** The interaction domains whose CPIs link to a KPI. */
export type KpiDomain = 'quote' | 'delivery' | 'ticket'

/** The KPI linked to the CPIs of each domain. */
export const kpiOfDomain = {
  quote: 'quote_acceptance',
  delivery: 'repeat_order_90d',
  ticket: 'churn_90d',
} as const satisfies Record<KpiDomain, string>

export interface Range {
  from: number
  to: number
  /** The events topic whose watermarks are "now" (KPIs count as of the watermark). */
  topic: string
}

/** Days after the interaction a KPI event still counts. */
const FOLLOW_UP_DAYS = 90
const QUOTE_FOLLOW_UP_DAYS = 30

const rangeParams = (range: Range) => ({ from: range.from / 1000, to: range.to / 1000, topic: range.topic })

/** The parameters of every read: the range in epoch seconds and the events topic. */
const rangeSchema = z.object({ from: z.number(), to: z.number(), topic: z.string() })

/** Known outcomes of the CPIs `{cpis:Array(String)}` in the range. */
const knownOutcomes = (db: string, cpiFilter: string) =>
  `SELECT cpi, subject, cohort_at, state, latency_ms, open
   FROM ${db}.outcomes FINAL
   WHERE ${cpiFilter} AND state IN ('good', 'bad')
     AND cohort_at >= toDateTime64({from:Float64}, 3, 'UTC') AND cohort_at < toDateTime64({to:Float64}, 3, 'UTC')`

/**
 * The slowest partition's current watermark of the events topic `{topic:String}`: "now" of the
 * data (R6). Partitions of another (an earlier) events topic are left out.
 */
const currentWatermark = (db: string) =>
  `(SELECT min(current) FROM (SELECT argMax(watermark, updated_at) AS current FROM ${db}.watermarks
     WHERE topic = {topic:String} GROUP BY partition))`

/** Each customer's times of one KPI event type; events without a customer id are left out. */
const customerTimes = (db: string, type: string) =>
  `SELECT customer_id AS customer, groupArray(time) AS times FROM ${db}.events
   WHERE type = '${type}' AND too_late = 0 AND customer_id != '' GROUP BY customer_id`

/**
 * One row per interaction of a domain among `outcomeSubjects`: its KPI (1 or 0), whether its
 * follow-up window has fully passed, and (quotes) whether it was declined. Like the CPIs, the
 * KPI is as of the watermark: an event after it does not count yet (a replay gives the same
 * answer as the live run did at that point).
 * - quote: a `quote.accepted` within 30 days of the request.
 * - delivery: an `order.placed` by the same customer within 90 days after the delivery (after
 *   the schedule for one never delivered).
 * - ticket: a `customer.churned` of the same customer within 90 days after the opening.
 */
function kpiRows(db: string, domain: KpiDomain, outcomeSubjects: string): string {
  const events = `${db}.events`
  const watermark = currentWatermark(db)
  const within = (days: number) =>
    `arrayExists(t -> t > d.at AND t <= d.at + INTERVAL ${days} DAY AND t <= ${watermark}, c.times) AS kpi,
     0 AS declined,
     d.at + INTERVAL ${days} DAY <= ${watermark} AS complete`
  switch (domain) {
    case 'quote':
      return `SELECT subject,
                     minIf(time, type = 'quote.requested') AS requested,
                     countIf(type = 'quote.accepted' AND time <= ${watermark}) > 0
                       AND minIf(time, type = 'quote.accepted' AND time <= ${watermark})
                           <= requested + INTERVAL ${QUOTE_FOLLOW_UP_DAYS} DAY AS kpi,
                     max(type = 'quote.declined' AND time <= ${watermark}) AS declined,
                     requested + INTERVAL ${QUOTE_FOLLOW_UP_DAYS} DAY <= ${watermark} AS complete
              FROM ${events}
              WHERE type IN ('quote.requested', 'quote.accepted', 'quote.declined') AND too_late = 0
                AND subject IN (${outcomeSubjects})
              GROUP BY subject`
    case 'delivery':
      return `SELECT d.subject AS subject, ${within(FOLLOW_UP_DAYS)}
              FROM (SELECT subject,
                           if(countIf(type = 'delivery.delivered') > 0, minIf(time, type = 'delivery.delivered'),
                              minIf(time, type = 'delivery.scheduled')) AS at,
                           anyIf(customer_id, type = 'delivery.scheduled') AS customer
                    FROM ${events}
                    WHERE type IN ('delivery.scheduled', 'delivery.delivered') AND too_late = 0
                      AND subject IN (${outcomeSubjects})
                    GROUP BY subject) AS d
              LEFT JOIN (${customerTimes(db, 'order.placed')}) AS c ON c.customer = d.customer`
    case 'ticket':
      return `SELECT d.subject AS subject, ${within(FOLLOW_UP_DAYS)}
              FROM (SELECT subject, minIf(time, type = 'ticket.opened') AS at,
                           anyIf(customer_id, type = 'ticket.opened') AS customer
                    FROM ${events}
                    WHERE type = 'ticket.opened' AND too_late = 0 AND subject IN (${outcomeSubjects})
                    GROUP BY subject) AS d
              LEFT JOIN (${customerTimes(db, 'customer.churned')}) AS c ON c.customer = d.customer`
  }
}

// ---------------------------------------------------------------------------------------------
// Perception vs performance

export interface PerceptionRow {
  cpi: string
  group: 'met' | 'missed'
  interactions: number
  responded: number
  csat: number[]
  nps: number[]
  ces: number[]
}

const histogram = (column: string, first: number, last: number) =>
  `[${Array.from({ length: last - first + 1 }, (_, i) => `countIf(s.${column} = ${first + i})`).join(', ')}]`

const score = (field: string) => `JSONExtract(latest, 'data', '${field}', 'Nullable(Int64)') AS ${field}`

const perceptionQuery = defineQuery({
  name: 'querying survey responses by outcome',
  params: rangeSchema.extend({ cpis: z.array(z.string()), domains: z.array(z.string()) }),
  sql: (db) => `
    WITH o AS (${knownOutcomes(db, 'cpi IN {cpis:Array(String)}')})
    SELECT o.cpi AS cpi, if(o.state = 'good', 'met', 'missed') AS group,
           count() AS interactions,
           countIf(s.subject != '') AS responded,
           ${histogram('csat', 1, 5)} AS csat,
           ${histogram('nps', 0, 10)} AS nps,
           ${histogram('ces', 1, 7)} AS ces
    FROM o
    LEFT JOIN (
      SELECT subject, JSONExtractString(latest, 'data', 'subjectType') AS subject_type,
             ${score('csat')}, ${score('nps')}, ${score('ces')}
      FROM (SELECT subject, argMax(payload, time) AS latest FROM ${db}.events
            WHERE type = 'survey.responded' AND too_late = 0 AND subject IN (SELECT subject FROM o)
              AND time <= ${currentWatermark(db)}
            GROUP BY subject)
    ) AS s ON s.subject = o.subject AND s.subject_type = transform(o.cpi, {cpis:Array(String)}, {domains:Array(String)}, '')
    GROUP BY cpi, group
    ORDER BY cpi, group`,
  row: z
    .object({
      cpi: z.string(),
      group: z.string(),
      interactions: z.coerce.number(),
      responded: z.coerce.number(),
      csat: z.array(z.coerce.number()),
      nps: z.array(z.coerce.number()),
      ces: z.array(z.coerce.number()),
    })
    .transform((row): PerceptionRow => ({ ...row, group: row.group === 'met' ? 'met' : 'missed' })),
})

/**
 * Per CPI and group (met: good, missed: bad): interactions, those with a survey response, and
 * the response's CSAT (1–5), NPS (0–10) and CES (1–7) histograms. A response rates the
 * interaction whose id is its `subject`, of its `subjectType` (the CPI's domain); an
 * interaction rated twice counts its latest response.
 */
export const queryPerception = (
  clickhouse: ClickHouse,
  options: Range & { cpis: { cpi: string; domain: string }[] },
): Promise<PerceptionRow[]> =>
  perceptionQuery(clickhouse, {
    ...rangeParams(options),
    cpis: options.cpis.map((c) => c.cpi),
    domains: options.cpis.map((c) => c.domain),
  })

// ---------------------------------------------------------------------------------------------
// CPI → KPI linkage

export interface LinkRow {
  group: string
  trials: number
  successes: number
  followUpComplete: number
}

/** Time-to-quote buckets, in order. `never`: no answer as of the watermark. */
export const quoteBuckets = ['≤30s', '30s–5m', '5m–1h', '>1h', 'never'] as const

const kpiDomain = z.enum(['quote', 'delivery', 'ticket'])

/** The group of an outcome row `o` per domain (see `queryLinkage`). */
const linkGroups: Record<KpiDomain, string> = {
  quote: `multiIf(o.open = 1 OR o.latency_ms IS NULL, 'never', o.latency_ms <= 30000, '≤30s',
                  o.latency_ms <= 300000, '30s–5m', o.latency_ms <= 3600000, '5m–1h', '>1h')`,
  delivery: `if(o.state = 'good', 'intact', 'broken')`,
  ticket: `if(o.state = 'good', 'first_time', 'not_first_time')`,
}

const linkageQuery = defineQuery({
  name: 'querying the KPI linked to a CPI',
  params: rangeSchema.extend({ cpi: z.string(), domain: kpiDomain }),
  sql: (db, { domain }) => `
    WITH o AS (${knownOutcomes(db, 'cpi = {cpi:String}')})
    SELECT ${linkGroups[domain]} AS group, count() AS trials, countIf(k.kpi = 1) AS successes,
           countIf(k.complete = 1) AS followUpComplete
    FROM o
    INNER JOIN (${kpiRows(db, domain, 'SELECT subject FROM o')}) AS k ON k.subject = o.subject
    WHERE k.declined = 0
    GROUP BY group`,
  bind: ({ domain: _, ...params }) => params,
  row: z.object({
    group: z.string(),
    trials: z.coerce.number(),
    successes: z.coerce.number(),
    followUpComplete: z.coerce.number(),
  }),
  what: ({ cpi }) => `querying the KPI linked to ${cpi}`,
})

/**
 * The linked KPI per group of the CPI's outcomes:
 * - `fast_quote` (quote): acceptance per time-to-answer bucket; declined quotes are left out
 *   (a clear no cannot be accepted).
 * - a delivery CPI: repeat order within 90 days, per `intact` (good) / `broken` (bad) — named
 *   for nothing_broke; for another delivery CPI read them as met / missed.
 * - a ticket CPI: churn within 90 days, per `first_time` (good) / `not_first_time` (bad).
 */
export const queryLinkage = (
  clickhouse: ClickHouse,
  options: Range & { cpi: string; domain: KpiDomain },
): Promise<LinkRow[]> =>
  linkageQuery(clickhouse, { ...rangeParams(options), cpi: options.cpi, domain: options.domain })

// ---------------------------------------------------------------------------------------------
// Experiments

export interface ExperimentArmRow {
  experiment: string
  variant: string
  cpi: string
  /** The CPI: good / known outcomes. */
  good: number
  total: number
  /** The linked KPI among the same interactions (all of them, declined quotes too); null without one. */
  kpiSuccesses: number | null
  kpiTrials: number | null
  /** Interactions of this arm whose events also carried another experiment or variant (the first one counts). */
  conflicting: number
  /** Of the arm's interactions, those whose KPI follow-up window has closed (the others may still convert). */
  kpiFollowUpComplete: number | null
  /** The arm's CPI outcomes in cohort order, '1' good, '0' bad (for the fixed-horizon test). */
  cpiSequence: string
  /** The arm's KPI in the same order; null without a KPI. */
  kpiSequence: string | null
}

const experimentDomainsQuery = defineQuery({
  name: 'finding the domains of experiments',
  params: rangeSchema.extend({ experiment: z.string() }),
  sql: (db) => `SELECT DISTINCT splitByChar('.', type)[1] AS domain FROM ${db}.events
     WHERE experiment != '' AND ({experiment:String} = '' OR experiment = {experiment:String})
       AND time >= toDateTime64({from:Float64}, 3, 'UTC') AND time < toDateTime64({to:Float64}, 3, 'UTC')`,
  row: z.object({ domain: z.string() }),
})

/** The arm's interactions in cohort order (ties by subject): the fixed-horizon test takes the first n. */
const ordered = `arraySort(t -> (t.1, t.2), groupArray((o.cohort_at, o.subject, o.state = 'good', k.kpi = 1)))`

/** Per arm of the experiments (or one), a CPI's outcomes and its domain's KPI (`domain`: none without one). */
function armsSql(db: string, domain: KpiDomain | null): string {
  const kpi = domain ? kpiRows(db, domain, 'SELECT subject FROM o') : "SELECT '' AS subject, 0 AS kpi WHERE 0"
  return `
      WITH o AS (${knownOutcomes(db, 'cpi = {cpi:String}')}),
           x AS (SELECT subject, argMin((experiment, variant), time) AS arm, arm.1 AS arm_experiment, arm.2 AS arm_variant,
                        uniqExact(experiment, variant) > 1 AS conflicting
                 FROM ${db}.events
                 WHERE experiment != '' AND too_late = 0 AND ({experiment:String} = '' OR experiment = {experiment:String})
                   AND subject IN (SELECT subject FROM o)
                 GROUP BY subject)
      SELECT x.arm_experiment AS experiment, x.arm_variant AS variant,
             countIf(o.state = 'good') AS good, count() AS total, countIf(k.kpi = 1) AS kpi_successes,
             countIf(x.conflicting) AS conflicting,
             countIf(k.complete = 1) AS kpi_complete,
             arrayStringConcat(arrayMap(t -> if(t.3, '1', '0'), ${ordered})) AS cpi_sequence,
             arrayStringConcat(arrayMap(t -> if(t.4, '1', '0'), ${ordered})) AS kpi_sequence
      FROM o
      INNER JOIN x ON x.subject = o.subject
      LEFT JOIN (${kpi}) AS k ON k.subject = o.subject
      GROUP BY experiment, variant
      ORDER BY experiment, variant`
}

const armsQuery = defineQuery({
  name: 'querying experiment arms of a CPI',
  params: rangeSchema.extend({ cpi: z.string(), experiment: z.string(), domain: kpiDomain.nullable() }),
  sql: (db, { domain }) => armsSql(db, domain),
  bind: ({ domain: _, ...params }) => params,
  row: z.object({
    experiment: z.string(),
    variant: z.string(),
    good: z.coerce.number(),
    total: z.coerce.number(),
    kpi_successes: z.coerce.number(),
    conflicting: z.coerce.number(),
    kpi_complete: z.coerce.number(),
    cpi_sequence: z.string(),
    kpi_sequence: z.string(),
  }),
  what: ({ cpi }) => `querying experiment arms of ${cpi}`,
})

/**
 * Per experiment, arm and CPI: the CPI over the arm's interactions with a known outcome and the
 * domain's linked KPI over the same interactions (intent to treat: every assigned interaction
 * counts). An interaction's arm is the `experiment`/`variant` its events carry.
 */
export async function queryExperimentArms(
  clickhouse: ClickHouse,
  options: Range & {
    /** Each CPI with the type prefix of its interactions' events (`quote`) and its KPI domain, if any. */
    cpis: { cpi: string; subjectType: string; domain: KpiDomain | null }[]
    experiment?: string
  },
): Promise<ExperimentArmRow[]> {
  const range = { ...rangeParams(options), experiment: options.experiment ?? '' }
  // Only the CPIs of domains whose events carry an experiment in the range: usually one of them.
  const present = await experimentDomainsQuery(clickhouse, range)
  const domains = new Set(present.map((row) => row.domain))
  const out: ExperimentArmRow[] = []
  for (const { cpi, domain, subjectType } of options.cpis) {
    if (!domains.has(subjectType)) continue
    for (const row of await armsQuery(clickhouse, { ...range, cpi, domain }))
      out.push({
        experiment: row.experiment,
        variant: row.variant,
        cpi,
        good: row.good,
        total: row.total,
        kpiSuccesses: domain ? row.kpi_successes : null,
        kpiTrials: domain ? row.total : null,
        conflicting: row.conflicting,
        kpiFollowUpComplete: domain ? row.kpi_complete : null,
        cpiSequence: row.cpi_sequence,
        kpiSequence: domain ? row.kpi_sequence : null,
      })
  }
  return out
}
