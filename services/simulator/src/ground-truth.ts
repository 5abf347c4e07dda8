import type {
  CallFact,
  CheckoutFact,
  DeliveryFact,
  Fact,
  QuoteFact,
  SurveyFact,
  TicketFact,
  ValueFact,
} from './facts.ts'
import type { CpiName } from './scenario.ts'

// The ground truth: what every built-in CPI must be, computed from the simulator's own facts
// by a deliberately plain, separate reading of the rules and definitions in docs/cpi-catalog.md. It shares no code with the
// engine, so the engine's tests compare two independent implementations.
//
// Conventions, decided here and documented in docs/simulator.md:
// - An outcome is known at the moment it is decided; "as of" a time, only outcomes known by
//   then count (R1). A deadline "passes" strictly after it: completing exactly at the
//   deadline is within (≤).
// - Cohorts (R3): an interaction belongs to the window of its first event; a survey response
//   to the window of the response. What has not begun by the "as of" time is not counted.
// - Follow-up windows (R4): 7 days; "within 7 days" includes day 7 to the millisecond.
// - nothing_broke: a delivery still under way is pending; one not delivered 7 days after its
//   promise stops being pending (on_time_in_full has counted it as a miss).
// - payment_flexibility: decided by how the checkout ended, once that is known; a session that
//   lapses with no word of how it ended is left out after its expiry, until word comes (a
//   completion after expiry still decides it). At one instant a miss takes precedence over a
//   fitting payment, and that over an abandonment before payment (a checkout here ends once, but
//   the rule is the engine's): a miss is final at its instant, a fitting payment provisional and
//   an abandonment before payment pending until the instant has passed.
// - value_delivered: each credit on its own, in the window of its own time; one without a
//   promise is left out of the rate (it still counts in the customer's value).

const SECOND = 1000
const HOUR = 3_600_000
const DAY = 24 * HOUR
const FOLLOW_UP = 7 * DAY

export type OutcomeState = 'good' | 'bad' | 'pending' | 'excluded'

export interface InteractionOutcome {
  cpi: CpiName
  subject: string
  /** The time that places it in a window (R3). */
  cohortAt: number
  state: OutcomeState
  /** For good/bad: final, or provisional while a follow-up window is still open (R4). */
  status?: 'provisional' | 'final'
  /** Time to the completion, or to "now" for one still open past its deadline (R2). */
  latencyMs?: number
  segments: Record<string, string>
}

export interface TruthRow {
  cpi: CpiName
  windowStart: string
  dimension: string
  value: string
  good: number
  total: number
  pending: number
  provisional: number
}

export interface GroundTruth {
  asOf: string
  windowMs: number
  outcomes: InteractionOutcome[]
  rows: TruthRow[]
  totals: Record<CpiName, { good: number; total: number; pending: number; provisional: number }>
}

type Decision = Pick<InteractionOutcome, 'state' | 'status' | 'latencyMs'>

export function fastQuote(fact: QuoteFact, asOf: number): Decision {
  const deadline = fact.startedAt + (fact.customerType === 'consumer' ? 30 * SECOND : DAY)
  const answer = fact.answer
  if (answer && answer.at <= deadline) {
    return answer.at <= asOf
      ? { state: 'good', status: 'final', latencyMs: answer.at - fact.startedAt }
      : { state: 'pending' }
  }
  if (asOf > deadline) {
    const answered = answer && answer.at <= asOf
    return { state: 'bad', status: 'final', latencyMs: (answered ? answer.at : asOf) - fact.startedAt }
  }
  return { state: 'pending' }
}

export function onTimeInFull(fact: DeliveryFact, asOf: number): Decision {
  const delivered = fact.delivered
  if (delivered && delivered.at <= fact.promisedBy) {
    if (delivered.at > asOf) return { state: 'pending' }
    return { state: delivered.items >= fact.items ? 'good' : 'bad', status: 'final' }
  }
  return asOf > fact.promisedBy ? { state: 'bad', status: 'final' } : { state: 'pending' }
}

export function nothingBroke(fact: DeliveryFact, asOf: number): Decision {
  const delivered = fact.delivered
  if (!delivered || delivered.at > asOf) {
    // Judged on what is known by then: not delivered a week after the promise is left out.
    return asOf > fact.promisedBy + FOLLOW_UP ? { state: 'excluded' } : { state: 'pending' }
  }
  const windowEnd = delivered.at + FOLLOW_UP
  const damage = fact.damage
  if (damage && damage.at <= windowEnd && damage.at <= asOf) return { state: 'bad', status: 'final' }
  return { state: 'good', status: asOf > windowEnd ? 'final' : 'provisional' }
}

export function firstTimeResolution(fact: TicketFact, asOf: number): Decision {
  const deadline = fact.startedAt + 72 * HOUR
  let resolvedAt: number | undefined
  let failedAt: number | undefined
  for (const step of [...fact.steps].sort((a, b) => a.at - b.at)) {
    if (resolvedAt === undefined && step.at > deadline) break // unresolved at 72 h: a miss, whatever follows
    if (resolvedAt !== undefined && step.at > resolvedAt + FOLLOW_UP) break // the follow-up window closed
    const failing =
      step.type === 'transferred' ||
      step.type === 'reopened' ||
      (step.type === 'message' && step.direction === 'inbound' && step.author === 'customer')
    if (failing) {
      failedAt = step.at
      break
    }
    if (step.type === 'resolved' && resolvedAt === undefined) resolvedAt = step.at
  }
  if (failedAt !== undefined && failedAt <= asOf) return { state: 'bad', status: 'final' }
  if (resolvedAt !== undefined && resolvedAt <= asOf) {
    return { state: 'good', status: asOf > resolvedAt + FOLLOW_UP ? 'final' : 'provisional' }
  }
  return asOf > deadline ? { state: 'bad', status: 'final' } : { state: 'pending' }
}

export function firstReply2h(fact: TicketFact, asOf: number): Decision {
  if (fact.channel !== 'email' && fact.channel !== 'chat') return { state: 'excluded' }
  const deadline = fact.startedAt + 2 * HOUR
  const reply = fact.steps
    .filter((step) => step.type === 'message' && step.direction === 'outbound' && step.author === 'agent')
    .sort((a, b) => a.at - b.at)[0]
  if (reply && reply.at <= deadline) {
    return reply.at <= asOf
      ? { state: 'good', status: 'final', latencyMs: reply.at - fact.startedAt }
      : { state: 'pending' }
  }
  if (asOf > deadline) {
    const replied = reply && reply.at <= asOf
    return { state: 'bad', status: 'final', latencyMs: (replied ? reply.at : asOf) - fact.startedAt }
  }
  return { state: 'pending' }
}

export function phoneAnswer20s(fact: CallFact, asOf: number): Decision {
  const deadline = fact.startedAt + 20 * SECOND
  const end = fact.end && fact.end.at <= asOf ? fact.end : undefined
  if (end && end.at <= deadline) {
    return end.kind === 'answered'
      ? { state: 'good', status: 'final', latencyMs: end.at - fact.startedAt }
      : { state: 'excluded' } // hung up before the expectation was due
  }
  if (asOf > deadline)
    return { state: 'bad', status: 'final', latencyMs: (end ? end.at : asOf) - fact.startedAt }
  return { state: 'pending' }
}

export function csat(survey: SurveyFact, asOf: number): Decision {
  if (survey.csat === undefined || survey.at > asOf)
    return { state: survey.csat === undefined ? 'excluded' : 'pending' }
  return { state: survey.csat >= 4 ? 'good' : 'bad', status: 'final' }
}

export function paymentFlexibility(fact: CheckoutFact, asOf: number): Decision {
  const end = fact.end
  if (end && end.at <= asOf) {
    // How it ended, at the instant it ended: a miss (abandoned at payment, paid off-list) is
    // final there; a fitting payment is provisional and an abandonment before payment pending
    // until that instant has passed, since a miss at the same instant would still take precedence.
    const past = asOf > end.at
    if (end.kind === 'abandoned') {
      if (end.stage === 'payment') return { state: 'bad', status: 'final' }
      return past ? { state: 'excluded' } : { state: 'pending' }
    }
    // Paid: good only with a method the checkout offered (one arranged by hand is a miss).
    return fact.offered.includes(end.method)
      ? { state: 'good', status: past ? 'final' : 'provisional' }
      : { state: 'bad', status: 'final' }
  }
  return asOf > fact.expiresAt ? { state: 'excluded' } : { state: 'pending' }
}

export function valueDelivered(credit: ValueFact, asOf: number): Decision {
  if (credit.promised === undefined) return { state: 'excluded' }
  if (credit.at > asOf) return { state: 'pending' }
  return { state: credit.amount >= credit.promised ? 'good' : 'bad', status: 'final' }
}

/** A customer's credited value as of a time, summed per kind and unit (what `/v1/customers/{id}/value` must say). */
export interface CustomerValueTruth {
  credits: number
  totals: {
    kind: string
    unit: string
    amount: number
    promised: number
    credits: number
    withPromise: number
    /** Credits with a promise whose amount reached it. */
    metPromise: number
  }[]
}

export function customerValue(facts: readonly Fact[], customerId: string, asOf: number): CustomerValueTruth {
  const totals = new Map<string, CustomerValueTruth['totals'][number]>()
  let credits = 0
  for (const fact of facts) {
    if (fact.kind !== 'value' || fact.customerId !== customerId || fact.at > asOf) continue
    credits++
    const key = `${fact.valueKind}|${fact.unit}`
    const total = totals.get(key) ?? {
      kind: fact.valueKind,
      unit: fact.unit,
      amount: 0,
      promised: 0,
      credits: 0,
      withPromise: 0,
      metPromise: 0,
    }
    total.amount += fact.amount
    total.credits++
    if (fact.promised !== undefined) {
      total.promised += fact.promised
      total.withPromise++
      if (fact.amount >= fact.promised) total.metPromise++
    }
    totals.set(key, total)
  }
  return {
    credits,
    totals: [...totals.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.unit.localeCompare(b.unit)),
  }
}

/** Every CPI outcome of every fact, as of a time. */
export function outcomesOf(facts: readonly Fact[], asOf: number): InteractionOutcome[] {
  const outcomes: InteractionOutcome[] = []
  const add = (
    cpi: CpiName,
    subject: string,
    cohortAt: number,
    decision: Decision,
    segments: Record<string, string>,
  ) => {
    // What has not begun by then does not exist yet: not even pending.
    if (cohortAt <= asOf) outcomes.push({ cpi, subject, cohortAt, ...decision, segments })
  }
  for (const fact of facts) {
    switch (fact.kind) {
      case 'quote':
        add('fast_quote', fact.subject, fact.startedAt, fastQuote(fact, asOf), {
          channel: fact.channel,
          region: fact.region,
          product: fact.product,
          customerType: fact.customerType,
        })
        break
      case 'delivery': {
        const segments = { region: fact.region, carrier: fact.carrier }
        add('on_time_in_full', fact.subject, fact.startedAt, onTimeInFull(fact, asOf), segments)
        add('nothing_broke', fact.subject, fact.startedAt, nothingBroke(fact, asOf), segments)
        break
      }
      case 'ticket': {
        const segments = { channel: fact.channel, region: fact.region, category: fact.category }
        add('first_time_resolution', fact.subject, fact.startedAt, firstTimeResolution(fact, asOf), segments)
        add('first_reply_2h', fact.subject, fact.startedAt, firstReply2h(fact, asOf), segments)
        break
      }
      case 'call':
        add('phone_answer_20s', fact.subject, fact.startedAt, phoneAnswer20s(fact, asOf), {
          queue: fact.queue,
          region: fact.region,
        })
        break
      case 'survey':
        add('csat', fact.subject, fact.at, csat(fact, asOf), { subjectType: fact.subjectType })
        break
      case 'checkout':
        add('payment_flexibility', fact.subject, fact.startedAt, paymentFlexibility(fact, asOf), {
          channel: fact.channel,
          region: fact.region,
          product: fact.product,
        })
        break
      case 'value':
        add('value_delivered', fact.subject, fact.at, valueDelivered(fact, asOf), {
          kind: fact.valueKind,
          product: fact.product,
          region: fact.region,
        })
        break
    }
  }
  return outcomes
}

/** The expected CPI values per window and segment (each dimension on its own, plus `all`). */
export function groundTruth(
  facts: readonly Fact[],
  options: { asOf: number; windowMs?: number },
): GroundTruth {
  const windowMs = options.windowMs ?? 60_000
  const outcomes = outcomesOf(facts, options.asOf)
  const rows = new Map<string, TruthRow>()
  const totals = {} as GroundTruth['totals']
  for (const outcome of outcomes) {
    if (outcome.state === 'excluded') continue
    const windowStart = new Date(Math.floor(outcome.cohortAt / windowMs) * windowMs).toISOString()
    let total = totals[outcome.cpi]
    if (!total) {
      total = { good: 0, total: 0, pending: 0, provisional: 0 }
      totals[outcome.cpi] = total
    }
    count(total, outcome)
    for (const [dimension, value] of [['all', 'all'] as const, ...Object.entries(outcome.segments)]) {
      const key = `${outcome.cpi}|${windowStart}|${dimension}|${value}`
      let row = rows.get(key)
      if (!row) {
        row = {
          cpi: outcome.cpi,
          windowStart,
          dimension,
          value,
          good: 0,
          total: 0,
          pending: 0,
          provisional: 0,
        }
        rows.set(key, row)
      }
      count(row, outcome)
    }
  }
  return {
    asOf: new Date(options.asOf).toISOString(),
    windowMs,
    outcomes,
    rows: [...rows.values()].sort(
      (a, b) =>
        a.cpi.localeCompare(b.cpi) ||
        a.windowStart.localeCompare(b.windowStart) ||
        a.dimension.localeCompare(b.dimension) ||
        a.value.localeCompare(b.value),
    ),
    totals,
  }
}

function count(
  target: { good: number; total: number; pending: number; provisional: number },
  outcome: InteractionOutcome,
) {
  if (outcome.state === 'pending') {
    target.pending++
    return
  }
  target.total++
  if (outcome.state === 'good') target.good++
  if (outcome.status === 'provisional') target.provisional++
}
