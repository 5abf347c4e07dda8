import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineQuery } from '../query.ts'

// The counts behind the customer-centric analytics (docs/analytics.md): survey responses joined
// to the rated interaction's outcome, KPI events (acceptances, orders, churn) joined to the CPI
// outcome of the interaction before them, and both per experiment arm. Pure statistics on these
// counts live in @cpi/analytics. Each read takes interactions by cohort (their first event) in
// [from, to) with a known outcome (good or bad; pending ones are not yet evidence), and counts a
// duplicate event once (existence, min, any — never sums over raw rows).

/**
 * How a KPI is counted after an interaction (the catalog's KPI rule, packages/cpi-core kpi.ts):
 * a KPI `event` within `withinMs` of the interaction's reference time — the first of the `after`
 * event types it has, in that order — of the same interaction or of the same customer (the
 * customer id of its `customerFrom` event); one with an `endedBy` event is reported apart.
 * Event types are v1 type names (the catalog validates them).
 */
export interface KpiCount {
  after: readonly string[]
  event: string
  match: 'interaction' | 'customer'
  customerFrom?: string | undefined
  withinMs: number
  endedBy: readonly string[]
}

/** How a link groups a CPI's interactions: by outcome, or by latency buckets (upper bounds in ms). */
export type LinkGrouping =
  | { outcome: { good: string; bad: string } }
  | { latency: { buckets: readonly { upToMs: number; label: string }[]; over: string; never: string } }

const eventTypeName = z.string().regex(/^[a-z]+(\.[a-z_]+)+$/, { error: 'a v1 event type name' })

const kpiCountSchema = z.object({
  after: z.array(eventTypeName).min(1),
  event: eventTypeName,
  match: z.enum(['interaction', 'customer']),
  customerFrom: eventTypeName.optional(),
  withinMs: z.number().int().positive(),
  endedBy: z.array(eventTypeName),
})

const labelSchema = z.string().min(1)
const groupingSchema = z.union([
  z.object({ outcome: z.object({ good: labelSchema, bad: labelSchema }) }),
  z.object({
    latency: z.object({
      buckets: z.array(z.object({ upToMs: z.number().int().positive(), label: labelSchema })).min(1),
      over: labelSchema,
      never: labelSchema,
    }),
  }),
])

export interface Range {
  from: number
  to: number
  /** The events topic whose watermarks are "now" (KPIs count as of the watermark). */
  topic: string
}

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
   WHERE type = ${literal(type)} AND too_late = 0 AND customer_id != '' GROUP BY customer_id`

/** A checked event type name as an SQL string literal. */
const literal = (type: string) => `'${type}'`
const literals = (types: readonly string[]) => types.map(literal).join(', ')

/** The reference time of an interaction: the first of the event types it has, in order of preference. */
function referenceTime(types: readonly string[]): string {
  const [first, ...rest] = types
  const at = `minIf(time, type = ${literal(first as string)})`
  if (rest.length === 0) return at
  return `if(countIf(type = ${literal(first as string)}) > 0, ${at}, ${referenceTime(rest)})`
}

/**
 * One row per interaction among `outcomeSubjects`: its KPI (1 or 0) by the KPI's rule, whether
 * its follow-up window has fully passed, and whether an `endedBy` event took it out. Like the
 * CPIs, the KPI is as of the watermark: an event after it does not count yet (a replay gives the
 * same answer as the live run did at that point).
 */
function kpiRows(db: string, rule: KpiCount, outcomeSubjects: string): string {
  const watermark = currentWatermark(db)
  const within = `toIntervalMillisecond(${rule.withinMs})`
  const complete = `at + ${within} <= ${watermark} AS complete`
  if (rule.match === 'interaction') {
    const ended =
      rule.endedBy.length === 0 ? '0' : `max(type IN (${literals(rule.endedBy)}) AND time <= ${watermark})`
    return `SELECT subject, ${referenceTime(rule.after)} AS at,
                   countIf(type = ${literal(rule.event)} AND time <= ${watermark}) > 0
                     AND minIf(time, type = ${literal(rule.event)} AND time <= ${watermark}) <= at + ${within} AS kpi,
                   ${ended} AS declined, ${complete}
            FROM ${db}.events
            WHERE type IN (${literals([...rule.after, rule.event, ...rule.endedBy])}) AND too_late = 0
              AND subject IN (${outcomeSubjects})
            GROUP BY subject`
  }
  return `SELECT d.subject AS subject,
                 arrayExists(t -> t > d.at AND t <= d.at + ${within} AND t <= ${watermark}, c.times) AS kpi,
                 0 AS declined, d.${complete}
          FROM (SELECT subject, ${referenceTime(rule.after)} AS at,
                       anyIf(customer_id, type = ${literal(rule.customerFrom as string)}) AS customer
                FROM ${db}.events
                WHERE type IN (${literals([...rule.after, rule.customerFrom as string])}) AND too_late = 0
                  AND subject IN (${outcomeSubjects})
                GROUP BY subject) AS d
          LEFT JOIN (${customerTimes(db, rule.event)}) AS c ON c.customer = d.customer`
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

/** The group of an outcome row `o` by the link's grouping, as SQL. */
function groupOf(grouping: LinkGrouping): string {
  if ('outcome' in grouping) {
    const { good, bad } = grouping.outcome
    return `if(o.state = 'good', ${quoted(good)}, ${quoted(bad)})`
  }
  const { buckets, over, never } = grouping.latency
  const steps = buckets.map((bucket) => `o.latency_ms <= ${bucket.upToMs}, ${quoted(bucket.label)}`)
  return `multiIf(o.open = 1 OR o.latency_ms IS NULL, ${quoted(never)}, ${steps.join(', ')}, ${quoted(over)})`
}

/** A label as an SQL string literal (quotes and backslashes escaped). */
const quoted = (text: string) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`

const linkageQuery = defineQuery({
  name: 'querying the KPI linked to a CPI',
  params: rangeSchema.extend({ cpi: z.string(), kpi: kpiCountSchema, grouping: groupingSchema }),
  sql: (db, { kpi, grouping }) => `
    WITH o AS (${knownOutcomes(db, 'cpi = {cpi:String}')})
    SELECT ${groupOf(grouping)} AS group, count() AS trials, countIf(k.kpi = 1) AS successes,
           countIf(k.complete = 1) AS followUpComplete
    FROM o
    INNER JOIN (${kpiRows(db, kpi, 'SELECT subject FROM o')}) AS k ON k.subject = o.subject
    WHERE k.declined = 0
    GROUP BY group`,
  bind: ({ kpi: _, grouping: __, ...params }) => params,
  row: z.object({
    group: z.string(),
    trials: z.coerce.number(),
    successes: z.coerce.number(),
    followUpComplete: z.coerce.number(),
  }),
  what: ({ cpi }) => `querying the KPI linked to ${cpi}`,
})

/**
 * The linked KPI per group of the CPI's outcomes, both as the catalog defines them (the KPI's
 * rule, the link's grouping): e.g. quote acceptance per time-to-answer bucket, declined quotes
 * left out (a clear no cannot be accepted); repeat orders within 90 days per intact / broken
 * delivery; churn within 90 days per ticket resolved at the first contact or not.
 */
export const queryLinkage = (
  clickhouse: ClickHouse,
  options: Range & { cpi: string; kpi: KpiCount; grouping: LinkGrouping },
): Promise<LinkRow[]> =>
  linkageQuery(clickhouse, {
    ...rangeParams(options),
    cpi: options.cpi,
    kpi: { ...options.kpi, after: [...options.kpi.after], endedBy: [...options.kpi.endedBy] },
    grouping: groupingInput(options.grouping),
  })

/** A grouping as its schema's (mutable) input. */
const groupingInput = (grouping: LinkGrouping): z.input<typeof groupingSchema> =>
  'outcome' in grouping
    ? grouping
    : { latency: { ...grouping.latency, buckets: grouping.latency.buckets.map((bucket) => ({ ...bucket })) } }

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

/** Per arm of the experiments (or one), a CPI's outcomes and its KPI (none: `null`). */
function armsSql(db: string, rule: KpiCount | null): string {
  const kpi = rule ? kpiRows(db, rule, 'SELECT subject FROM o') : "SELECT '' AS subject, 0 AS kpi WHERE 0"
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
  params: rangeSchema.extend({ cpi: z.string(), experiment: z.string(), kpi: kpiCountSchema.nullable() }),
  sql: (db, { kpi }) => armsSql(db, kpi),
  bind: ({ kpi: _, ...params }) => params,
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
    /** Each CPI with the type prefix of its interactions' events (`quote`) and its KPI's rule, if any. */
    cpis: { cpi: string; subjectType: string; kpi: KpiCount | null }[]
    experiment?: string
  },
): Promise<ExperimentArmRow[]> {
  const range = { ...rangeParams(options), experiment: options.experiment ?? '' }
  // Only the CPIs of domains whose events carry an experiment in the range: usually one of them.
  const present = await experimentDomainsQuery(clickhouse, range)
  const domains = new Set(present.map((row) => row.domain))
  const out: ExperimentArmRow[] = []
  for (const { cpi, kpi, subjectType } of options.cpis) {
    if (!domains.has(subjectType)) continue
    const rule = kpi ? { ...kpi, after: [...kpi.after], endedBy: [...kpi.endedBy] } : null
    for (const row of await armsQuery(clickhouse, { ...range, cpi, kpi: rule }))
      out.push({
        experiment: row.experiment,
        variant: row.variant,
        cpi,
        good: row.good,
        total: row.total,
        kpiSuccesses: kpi ? row.kpi_successes : null,
        kpiTrials: kpi ? row.total : null,
        conflicting: row.conflicting,
        kpiFollowUpComplete: kpi ? row.kpi_complete : null,
        cpiSequence: row.cpi_sequence,
        kpiSequence: kpi ? row.kpi_sequence : null,
      })
  }
  return out
}
