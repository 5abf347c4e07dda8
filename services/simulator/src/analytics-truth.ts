import type { Fact, QuoteFact } from './facts.ts'
import { fastQuote, firstTimeResolution, nothingBroke } from './ground-truth.ts'

// What the product's CPI→KPI analytics must report, computed plainly from the simulator's facts
// (never from events). Like the ground truth, it shares no code with the product: the product's
// SQL implements the same definitions, and tests compare the two.
//
// Common rules:
// - The population is the interactions whose startedAt is in [from, to); what happened after
//   `asOf` is unknown (a CPI outcome is read with the ground truth as of `asOf`, a KPI event
//   counts only at or before `asOf`).
// - Groups without any trial are left out (as a SQL GROUP BY leaves them out), the others come
//   in a fixed order.
// - KPI follow-up (orders, churns) is looked up by customer in ALL the given facts, not only in
//   the interaction itself nor only among the interactions in [from, to): pass every fact whose
//   KPI events may fall in the follow-up windows.

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** The follow-up window of a KPI after its reference time: (reference, reference + 90 days]. */
export const KPI_FOLLOW_UP_MS = 90 * DAY

export interface AnalyticsQuery {
  /** Interactions started in [from, to) (ms). */
  from: number
  to: number
  /** What is known at this time (ms). */
  asOf: number
}

export interface Counts {
  successes: number
  trials: number
}

export interface GroupCounts<G extends string = string> extends Counts {
  group: G
}

export interface FollowUpCounts<G extends string = string> extends GroupCounts<G> {
  /** Trials whose whole 90-day follow-up window has passed by asOf (reference + 90 d ≤ asOf). */
  followUpComplete: number
}

/** The quote KPI: an acceptance within 30 days of the request, by `asOf`. */
export const QUOTE_ACCEPTANCE_MS = 30 * DAY
const acceptedBy = (fact: QuoteFact, asOf: number) =>
  fact.acceptedAt !== undefined && fact.acceptedAt <= Math.min(asOf, fact.startedAt + QUOTE_ACCEPTANCE_MS)

export const ACCEPTANCE_BUCKETS = ['≤30s', '30s–5m', '5m–1h', '>1h', 'never'] as const
export type AcceptanceBucket = (typeof ACCEPTANCE_BUCKETS)[number]

export interface ExperimentArm {
  experiment: string
  variant: string
  /** fast_quote: successes = good, trials = good + bad (as of asOf). */
  cpi: Counts
  /** Acceptance among the same quotes (declined included: intent to treat): accepted by asOf. */
  kpi: Counts
}

const inRange = (startedAt: number, query: AnalyticsQuery) => startedAt >= query.from && startedAt < query.to

/** Groups in the given order, empty ones left out. */
function ordered<G extends string, T extends GroupCounts<G>>(order: readonly G[], groups: Map<G, T>): T[] {
  return order.flatMap((group) => {
    const counts = groups.get(group)
    return counts && counts.trials > 0 ? [counts] : []
  })
}

/** The bucket of a quote's time to answer, as known at asOf. */
function bucketOf(fact: QuoteFact, asOf: number): AcceptanceBucket {
  if (!fact.answer || fact.answer.at > asOf) return 'never'
  const latency = fact.answer.at - fact.startedAt
  if (latency <= 30 * SECOND) return '≤30s'
  if (latency <= 5 * MINUTE) return '30s–5m'
  if (latency <= HOUR) return '5m–1h'
  return '>1h'
}

/**
 * Quote acceptance by time to answer. Population: quotes whose fast_quote outcome is known (good
 * or bad) as of asOf, except those declined (by asOf). Bucket: the time from request to answer
 * (≤ 30 s, ≤ 5 min, ≤ 1 h, more; 'never' when unanswered by asOf). Success: accepted by asOf.
 */
export function quoteAcceptanceByBucket(
  facts: readonly Fact[],
  query: AnalyticsQuery,
): GroupCounts<AcceptanceBucket>[] {
  const groups = new Map<AcceptanceBucket, GroupCounts<AcceptanceBucket>>()
  for (const fact of facts) {
    if (fact.kind !== 'quote' || !inRange(fact.startedAt, query)) continue
    const state = fastQuote(fact, query.asOf).state
    if (state !== 'good' && state !== 'bad') continue
    if (fact.answer?.kind === 'declined' && fact.answer.at <= query.asOf) continue
    const group = bucketOf(fact, query.asOf)
    const counts = groups.get(group) ?? { group, successes: 0, trials: 0 }
    groups.set(group, counts)
    counts.trials++
    if (acceptedBy(fact, query.asOf)) counts.successes++
  }
  return ordered(ACCEPTANCE_BUCKETS, groups)
}

/** Every customer's KPI event times, from all the facts. */
function kpiTimes(facts: readonly Fact[], kind: 'orderAt' | 'churnAt'): Map<string, number[]> {
  const times = new Map<string, number[]>()
  for (const fact of facts) {
    if (fact.kind === 'survey' || fact.kind === 'value') continue
    const at = fact.kpi?.[kind]
    if (at === undefined) continue
    const list = times.get(fact.customerId) ?? []
    list.push(at)
    times.set(fact.customerId, list)
  }
  return times
}

/** Whether any of the times is in (reference, reference + 90 d] and at or before asOf. */
function followedUp(times: readonly number[] | undefined, reference: number, asOf: number): boolean {
  const end = Math.min(reference + KPI_FOLLOW_UP_MS, asOf)
  return (times ?? []).some((at) => at > reference && at <= end)
}

interface FollowUpTrial<G extends string> {
  group: G
  /** The time the follow-up window starts after. */
  reference: number
  customerId: string
}

function followUpGroups<G extends string>(
  population: readonly FollowUpTrial<G>[],
  times: Map<string, number[]>,
  order: readonly G[],
  asOf: number,
): FollowUpCounts<G>[] {
  const groups = new Map<G, FollowUpCounts<G>>()
  for (const { group, reference, customerId } of population) {
    const counts = groups.get(group) ?? { group, successes: 0, trials: 0, followUpComplete: 0 }
    groups.set(group, counts)
    counts.trials++
    if (followedUp(times.get(customerId), reference, asOf)) counts.successes++
    if (reference + KPI_FOLLOW_UP_MS <= asOf) counts.followUpComplete++
  }
  return ordered(order, groups)
}

/**
 * Repeat orders after deliveries, by nothing_broke. Population: deliveries whose nothing_broke
 * outcome is known as of asOf, 'intact' (good) or 'broken' (bad). Success: the same customer
 * placed an order (from any interaction) in (delivered, delivered + 90 d], by asOf.
 */
export function repeatOrderByDelivery(
  facts: readonly Fact[],
  query: AnalyticsQuery,
): FollowUpCounts<'intact' | 'broken'>[] {
  const population: FollowUpTrial<'intact' | 'broken'>[] = []
  for (const fact of facts) {
    if (fact.kind !== 'delivery' || !inRange(fact.startedAt, query)) continue
    const state = nothingBroke(fact, query.asOf).state
    // A known outcome implies a delivery by asOf.
    if ((state !== 'good' && state !== 'bad') || !fact.delivered) continue
    population.push({
      group: state === 'good' ? 'intact' : 'broken',
      reference: fact.delivered.at,
      customerId: fact.customerId,
    })
  }
  return followUpGroups(population, kpiTimes(facts, 'orderAt'), ['intact', 'broken'], query.asOf)
}

/**
 * Churn after tickets, by first-time resolution. Population: tickets whose first_time_resolution
 * outcome is known as of asOf, 'first_time' (good) or 'not_first_time' (bad). Success: the same
 * customer churned in (opened, opened + 90 d], by asOf.
 */
export function churnByResolution(
  facts: readonly Fact[],
  query: AnalyticsQuery,
): FollowUpCounts<'first_time' | 'not_first_time'>[] {
  const population: FollowUpTrial<'first_time' | 'not_first_time'>[] = []
  for (const fact of facts) {
    if (fact.kind !== 'ticket' || !inRange(fact.startedAt, query)) continue
    const state = firstTimeResolution(fact, query.asOf).state
    if (state !== 'good' && state !== 'bad') continue
    population.push({
      group: state === 'good' ? 'first_time' : 'not_first_time',
      reference: fact.startedAt,
      customerId: fact.customerId,
    })
  }
  return followUpGroups(population, kpiTimes(facts, 'churnAt'), ['first_time', 'not_first_time'], query.asOf)
}

/**
 * The arms of every quote experiment, sorted by experiment then variant. Population per arm:
 * its quotes whose fast_quote outcome is known as of asOf. CPI: fast_quote good of good + bad.
 * KPI: accepted by asOf, of the same quotes (declined included: intent to treat).
 */
export function experimentArms(facts: readonly Fact[], query: AnalyticsQuery): ExperimentArm[] {
  const arms = new Map<string, ExperimentArm>()
  for (const fact of facts) {
    if (fact.kind !== 'quote' || !fact.experiment || !inRange(fact.startedAt, query)) continue
    const state = fastQuote(fact, query.asOf).state
    if (state !== 'good' && state !== 'bad') continue
    const { id, variant } = fact.experiment
    const key = JSON.stringify([id, variant])
    let arm = arms.get(key)
    if (!arm) {
      arm = { experiment: id, variant, cpi: { successes: 0, trials: 0 }, kpi: { successes: 0, trials: 0 } }
      arms.set(key, arm)
    }
    arm.cpi.trials++
    arm.kpi.trials++
    if (state === 'good') arm.cpi.successes++
    if (acceptedBy(fact, query.asOf)) arm.kpi.successes++
  }
  return [...arms.values()].sort(
    (a, b) =>
      (a.experiment < b.experiment ? -1 : a.experiment > b.experiment ? 1 : 0) ||
      (a.variant < b.variant ? -1 : a.variant > b.variant ? 1 : 0),
  )
}
