import { twoProportionTest } from '@cpi/analytics'
import { describe, expect, it } from 'vitest'
import {
  churnByResolution,
  experimentArms,
  quoteAcceptanceByBucket,
  repeatOrderByDelivery,
} from './analytics-truth.ts'
import type { CallFact, DeliveryFact, Fact, QuoteFact, TicketFact, TicketStep } from './facts.ts'
import { simulate } from './generate.ts'
import { parseScenario } from './scenario.ts'

const T0 = Date.parse('2026-06-01T00:00:00Z')
const S = 1000
const M = 60 * S
const H = 60 * M
const D = 24 * H
const base = { startedAt: T0, customerId: 'cust-a', region: 'north' }

const quote = (
  subject: string,
  overrides: Partial<QuoteFact> & { answerAfter?: number; answerKind?: 'issued' | 'declined' } = {},
): QuoteFact => {
  const { answerAfter, answerKind = 'issued', ...rest } = overrides
  const startedAt = rest.startedAt ?? T0
  return {
    ...base,
    subject,
    kind: 'quote',
    customerType: 'consumer',
    channel: 'web',
    product: 'home',
    ...(answerAfter === undefined ? {} : { answer: { kind: answerKind, at: startedAt + answerAfter } }),
    ...rest,
  }
}

describe('quoteAcceptanceByBucket', () => {
  const facts: Fact[] = [
    quote('q1', { answerAfter: 10 * S, acceptedAt: T0 + H }), // ≤30s, accepted
    quote('q2', { answerAfter: 30 * S }), // ≤30s exactly at the boundary
    quote('q3', { answerAfter: 30 * S + 1, acceptedAt: T0 + D }), // 30s–5m (a fast_quote miss), accepted
    quote('q4', { answerAfter: 5 * M, acceptedAt: T0 + 20 * D }), // 30s–5m, accepted only after asOf
    quote('q5', { customerType: 'business', answerAfter: H, acceptedAt: T0 + 2 * H }), // 5m–1h, accepted
    quote('q6', { customerType: 'business', answerAfter: 2 * H }), // >1h (a fast_quote hit for business)
    quote('q7'), // never answered: a miss, bucket never
    quote('q8', { answerAfter: 5 * S, answerKind: 'declined' }), // declined: left out
    quote('q9', { answerAfter: 11 * D, answerKind: 'declined' }), // declined only after asOf: never by then
    quote('q10', { startedAt: T0 + H, answerAfter: S, acceptedAt: T0 + 2 * H }), // starts at `to`: outside
    quote('q11', { startedAt: T0 - 1, answerAfter: S, acceptedAt: T0 + 2 * H }), // before `from`: outside
    {
      kind: 'survey',
      id: 's',
      subject: 'q1',
      subjectType: 'quote',
      at: T0 + H,
      customerId: 'cust-a',
      csat: 5,
    },
  ]

  it('buckets known outcomes by time to answer (≤ at each boundary) and counts acceptances by asOf', () => {
    expect(quoteAcceptanceByBucket(facts, { from: T0, to: T0 + H, asOf: T0 + 10 * D })).toEqual([
      { group: '≤30s', successes: 1, trials: 2 }, // q1, q2
      { group: '30s–5m', successes: 1, trials: 2 }, // q3, q4
      { group: '5m–1h', successes: 1, trials: 1 }, // q5
      { group: '>1h', successes: 0, trials: 1 }, // q6
      { group: 'never', successes: 0, trials: 2 }, // q7, q9
    ])
  })

  it('reads everything as of asOf: pending quotes left out, answers after it are never, empty groups omitted', () => {
    // At 40 s: q1, q2 good (q1 not yet accepted); q3 bad, answered; q4, q7, q9 consumer misses
    // without an answer yet; q5, q6 (business, 24 h) still pending; q8 declined.
    expect(quoteAcceptanceByBucket(facts, { from: T0, to: T0 + H, asOf: T0 + 40 * S })).toEqual([
      { group: '≤30s', successes: 0, trials: 2 },
      { group: '30s–5m', successes: 0, trials: 1 },
      { group: 'never', successes: 0, trials: 3 },
    ])
    expect(quoteAcceptanceByBucket(facts, { from: T0 + 2 * H, to: T0 + 3 * H, asOf: T0 + 10 * D })).toEqual(
      [],
    )
  })
})

const delivery = (subject: string, customerId: string, overrides: Partial<DeliveryFact>): DeliveryFact => ({
  ...base,
  subject,
  customerId,
  kind: 'delivery',
  promisedBy: T0 + 2 * D,
  items: 2,
  fragile: true,
  carrier: 'parcelco',
  ...overrides,
})

describe('repeatOrderByDelivery', () => {
  const facts: Fact[] = [
    // An order of the same customer from another interaction, started before the range, counts.
    { ...quote('q-a', { startedAt: T0 - 5 * D }), customerId: 'A', kpi: { orderAt: T0 + 31 * D } },
    delivery('d1', 'A', { delivered: { at: T0 + D, items: 2 } }), // intact; A's order at +30 d: success
    // Broken; its own order exactly at the reference time is not after it.
    delivery('d2', 'B', {
      delivered: { at: T0 + D, items: 2 },
      damage: { at: T0 + 2 * D, items: 1 },
      kpi: { orderAt: T0 + D },
    }),
    delivery('d3', 'C', { delivered: { at: T0 + 2 * D, items: 2 }, kpi: { orderAt: T0 + 92 * D } }), // +90 d exactly: success
    delivery('d4', 'D', { delivered: { at: T0 + 2 * D, items: 2 }, kpi: { orderAt: T0 + 92 * D + 1 } }), // +90 d + 1 ms: not
    delivery('d5', 'E', { kpi: { orderAt: T0 + 10 * D } }), // never delivered: left out once a week past its promise
    // Broken (damage reported an hour after delivery); its own order 10 days after: success.
    delivery('d6', 'F', {
      delivered: { at: T0 + D, items: 2 },
      damage: { at: T0 + D + H, items: 1 },
      kpi: { orderAt: T0 + 11 * D },
    }),
    // Another customer's order does not count for B.
    { ...quote('q-g', { startedAt: T0 + 2 * H }), customerId: 'G', kpi: { orderAt: T0 + 5 * D } },
    delivery('d7', 'A', { startedAt: T0 + H, delivered: { at: T0 + D, items: 2 } }), // outside [from, to)
  ]
  const query = { from: T0, to: T0 + H }

  it('counts orders of the same customer from any interaction in (delivered, delivered + 90 d]', () => {
    expect(repeatOrderByDelivery(facts, { ...query, asOf: T0 + 200 * D })).toEqual([
      { group: 'intact', successes: 2, trials: 3, followUpComplete: 3 }, // d1, d3 of d1, d3, d4
      { group: 'broken', successes: 1, trials: 2, followUpComplete: 2 }, // d6 of d2, d6
    ])
  })

  it('counts only orders by asOf, and follow-up windows complete by then', () => {
    // At day 40: d1's order (day 31) and d6's (day 11) are known, d3's (day 92) not yet.
    expect(repeatOrderByDelivery(facts, { ...query, asOf: T0 + 40 * D })).toEqual([
      { group: 'intact', successes: 1, trials: 3, followUpComplete: 0 },
      { group: 'broken', successes: 1, trials: 2, followUpComplete: 0 },
    ])
    // At day 91: d1 (delivered day 1) has its 90 days complete, d3 and d4 (day 2) not yet.
    expect(repeatOrderByDelivery(facts, { ...query, asOf: T0 + 91 * D })).toEqual([
      { group: 'intact', successes: 1, trials: 3, followUpComplete: 1 },
      { group: 'broken', successes: 1, trials: 2, followUpComplete: 2 },
    ])
  })

  it('groups by nothing_broke as known then: a damage not yet reported is intact, a delivery under way is left out', () => {
    // At day 1.5: d2's damage (day 2) is not reported yet; d3, d4 (delivered day 2) are under way.
    expect(repeatOrderByDelivery(facts, { ...query, asOf: T0 + 1.5 * D })).toEqual([
      { group: 'intact', successes: 0, trials: 2, followUpComplete: 0 }, // d1, d2
      { group: 'broken', successes: 0, trials: 1, followUpComplete: 0 }, // d6
    ])
  })
})

const ticket = (
  subject: string,
  customerId: string,
  steps: TicketStep[],
  kpi?: { churnAt: number },
): TicketFact => ({
  ...base,
  subject,
  customerId,
  kind: 'ticket',
  channel: 'email',
  category: 'billing',
  priority: 'normal',
  steps,
  ...(kpi ? { kpi } : {}),
})

describe('churnByResolution', () => {
  const call: CallFact = {
    ...base,
    subject: 'c-a',
    customerId: 'A',
    startedAt: T0 - D,
    kind: 'call',
    queue: 'claims',
    kpi: { churnAt: T0 + 10 * D },
  }
  const facts: Fact[] = [
    call, // A churns on day 10 (recorded on another interaction, outside the range)
    ticket('t1', 'A', [{ at: T0 + H, type: 'resolved' }]), // first time; A's churn: success
    ticket(
      't2',
      'B',
      [
        { at: T0 + H, type: 'transferred' },
        { at: T0 + 2 * H, type: 'resolved' },
      ],
      {
        churnAt: T0 + 90 * D, // exactly 90 days after opening: success
      },
    ),
    ticket('t3', 'C', [], { churnAt: T0 + 90 * D + 1 }), // never resolved: a miss after 72 h; churn too late
    ticket('t4', 'D', [{ at: T0 + H, type: 'resolved' }], { churnAt: T0 - D }), // churn before: not
  ]
  const query = { from: T0, to: T0 + H }

  it('counts churns of the same customer in (opened, opened + 90 d]', () => {
    expect(churnByResolution(facts, { ...query, asOf: T0 + 200 * D })).toEqual([
      { group: 'first_time', successes: 1, trials: 2, followUpComplete: 2 }, // t1 of t1, t4
      { group: 'not_first_time', successes: 1, trials: 2, followUpComplete: 2 }, // t2 of t2, t3
    ])
  })

  it('reads outcomes and churns as of asOf (a provisional success counts as first time)', () => {
    // Day 2: t1, t4 resolved (provisional successes), t2 failed, t3 pending until 72 h; no churn yet.
    expect(churnByResolution(facts, { ...query, asOf: T0 + 2 * D })).toEqual([
      { group: 'first_time', successes: 0, trials: 2, followUpComplete: 0 },
      { group: 'not_first_time', successes: 0, trials: 1, followUpComplete: 0 },
    ])
    // Day 90 exactly: t2's churn and the follow-up of every ticket (opened at T0) are complete.
    expect(churnByResolution(facts, { ...query, asOf: T0 + 90 * D })).toEqual([
      { group: 'first_time', successes: 1, trials: 2, followUpComplete: 2 },
      { group: 'not_first_time', successes: 1, trials: 2, followUpComplete: 2 },
    ])
  })
})

describe('experimentArms', () => {
  const x = (variant: string) => ({ experiment: { id: 'x', variant } })
  const facts: Fact[] = [
    quote('e1', { ...x('A'), answerAfter: 10 * S, acceptedAt: T0 + H }), // good, accepted
    quote('e2', { ...x('A'), answerAfter: 40 * S, answerKind: 'declined' }), // bad, declined (still a trial)
    quote('e3', { ...x('B'), answerAfter: 5 * S, answerKind: 'declined' }), // good, declined
    quote('e4', { ...x('B'), answerAfter: 20 * S, acceptedAt: T0 + 30 * D }), // good, accepted after asOf
    quote('e5', x('B')), // never answered: bad
    quote('e6', { answerAfter: S, acceptedAt: T0 + H }), // no experiment
    quote('e7', { experiment: { id: 'w', variant: 'A' }, answerAfter: S, acceptedAt: T0 + H }),
    quote('e8', { ...x('A'), startedAt: T0 + H, answerAfter: S, acceptedAt: T0 + 2 * H }), // outside
    quote('e9', { ...x('A'), customerType: 'business' }), // business, unanswered: pending at day 0.5
  ]

  it('gives each arm its fast_quote counts and its acceptance among the same quotes (intent to treat)', () => {
    expect(experimentArms(facts, { from: T0, to: T0 + H, asOf: T0 + D / 2 })).toEqual([
      { experiment: 'w', variant: 'A', cpi: { successes: 1, trials: 1 }, kpi: { successes: 1, trials: 1 } },
      { experiment: 'x', variant: 'A', cpi: { successes: 1, trials: 2 }, kpi: { successes: 1, trials: 2 } },
      { experiment: 'x', variant: 'B', cpi: { successes: 2, trials: 3 }, kpi: { successes: 0, trials: 3 } },
    ])
    // Two days later e9 has missed its 24 h and e4's acceptance is still to come.
    expect(experimentArms(facts, { from: T0, to: T0 + H, asOf: T0 + 2 * D })[1]).toEqual({
      experiment: 'x',
      variant: 'A',
      cpi: { successes: 1, trials: 3 },
      kpi: { successes: 1, trials: 3 },
    })
  })
})

describe('on a simulated scenario, the planted CPI→KPI effects show', () => {
  const from = Date.parse('2026-06-01T00:00:00Z')
  const range = { from, to: from + H }
  // Everything known: every follow-up window (90 days after at most a few days) has closed.
  const query = { ...range, asOf: from + 120 * D }

  it('faster quotes are accepted more often', () => {
    const { facts } = simulate(parseScenario({ seed: 11, ratePerSecond: 5 }), range)
    const buckets = quoteAcceptanceByBucket(facts, query)
    const rate = (group: string) => {
      const counts = buckets.find((bucket) => bucket.group === group)
      return counts ? counts.successes / counts.trials : Number.NaN
    }
    expect(buckets.map((bucket) => bucket.group)).toEqual(['≤30s', '30s–5m', '5m–1h', '>1h', 'never'])
    expect(rate('≤30s')).toBeGreaterThan(rate('30s–5m'))
    expect(rate('30s–5m')).toBeGreaterThan(rate('>1h'))
    expect(rate('never')).toBe(0)
  })

  it('a broken delivery lowers the repeat-order rate', () => {
    // Deliveries only, many orders: the customer's own follow-up order must stand out from the
    // orders of other interactions of the same customer (5,000 customers).
    const scenario = parseScenario({
      seed: 12,
      ratePerSecond: 2,
      orderShare: 0.6,
      mix: { quote: 0, delivery: 1, ticket: 0, call: 0 },
    })
    const groups = repeatOrderByDelivery(simulate(scenario, range).facts, query)
    const [intact, broken] = groups
    expect(groups.map((group) => group.group)).toEqual(['intact', 'broken'])
    if (!intact || !broken) throw new Error('both groups expected')
    expect(intact.followUpComplete).toBe(intact.trials)
    // broken − intact, significantly below 0.
    expect(twoProportionTest(intact, broken).z).toBeLessThan(-3)
  })

  it('a ticket that fails first-time resolution raises churn', () => {
    const scenario = parseScenario({
      seed: 13,
      ratePerSecond: 2,
      churnShare: 0.05,
      mix: { quote: 0, delivery: 0, ticket: 1, call: 0 },
    })
    const [firstTime, notFirstTime] = churnByResolution(simulate(scenario, range).facts, query)
    if (!firstTime || !notFirstTime) throw new Error('both groups expected')
    expect(twoProportionTest(firstTime, notFirstTime).z).toBeGreaterThan(3)
    // And without the planted effect, no difference to speak of.
    const neutral = parseScenario({
      ...scenario,
      kpiEffects: { repeatOrderAfterBrokenFactor: 1, churnAfterFailedResolutionFactor: 1 },
    })
    const [first, notFirst] = churnByResolution(simulate(neutral, range).facts, query)
    if (!first || !notFirst) throw new Error('both groups expected')
    expect(Math.abs(twoProportionTest(first, notFirst).z)).toBeLessThan(3)
  })
})
