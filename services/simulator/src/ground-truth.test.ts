import { describe, expect, it } from 'vitest'
import type {
  CallFact,
  CheckoutFact,
  DeliveryFact,
  QuoteFact,
  SurveyFact,
  TicketFact,
  TicketStep,
  ValueFact,
} from './facts.ts'
import {
  csat,
  customerValue,
  fastQuote,
  firstReply2h,
  firstTimeResolution,
  groundTruth,
  nothingBroke,
  onTimeInFull,
  paymentFlexibility,
  phoneAnswer20s,
  valueDelivered,
} from './ground-truth.ts'

const T0 = Date.parse('2026-11-22T10:00:00Z')
const S = 1000
const H = 3_600_000
const D = 24 * H
const base = { subject: 'X-1', startedAt: T0, customerId: 'c', region: 'north' }

const quote = (answerAfterMs?: number, customerType: 'consumer' | 'business' = 'consumer'): QuoteFact => ({
  ...base,
  kind: 'quote',
  customerType,
  channel: 'web',
  product: 'home',
  ...(answerAfterMs === undefined ? {} : { answer: { kind: 'issued' as const, at: T0 + answerAfterMs } }),
})

describe('fast_quote', () => {
  it('counts an answer exactly at 30 s as within, 30.001 s as a miss', () => {
    expect(fastQuote(quote(30 * S), T0 + D)).toEqual({ state: 'good', status: 'final', latencyMs: 30 * S })
    expect(fastQuote(quote(30 * S + 1), T0 + D)).toMatchObject({ state: 'bad', latencyMs: 30 * S + 1 })
  })

  it('keeps a request pending until its deadline passes, then a miss with the time waited so far (R1, R2)', () => {
    expect(fastQuote(quote(), T0 + 30 * S)).toEqual({ state: 'pending' })
    expect(fastQuote(quote(), T0 + 45 * S)).toEqual({ state: 'bad', status: 'final', latencyMs: 45 * S })
    expect(fastQuote(quote(10 * S), T0 + 5 * S)).toEqual({ state: 'pending' })
  })

  it('gives business customers 24 hours', () => {
    expect(fastQuote(quote(23 * H, 'business'), T0 + 2 * D).state).toBe('good')
    expect(fastQuote(quote(25 * H, 'business'), T0 + 2 * D).state).toBe('bad')
  })

  it('counts a decline as an answer', () => {
    const declined = { ...quote(), answer: { kind: 'declined' as const, at: T0 + 5 * S } }
    expect(fastQuote(declined, T0 + D).state).toBe('good')
  })
})

const delivery = (overrides: Partial<DeliveryFact>): DeliveryFact => ({
  ...base,
  kind: 'delivery',
  promisedBy: T0 + 2 * D,
  items: 3,
  fragile: true,
  carrier: 'parcelco',
  ...overrides,
})

describe('on_time_in_full', () => {
  it('is good delivered in full by the promise (the promise itself within), bad when late or short by one', () => {
    expect(onTimeInFull(delivery({ delivered: { at: T0 + 2 * D, items: 3 } }), T0 + 9 * D).state).toBe('good')
    expect(onTimeInFull(delivery({ delivered: { at: T0 + 2 * D + 1, items: 3 } }), T0 + 9 * D).state).toBe(
      'bad',
    )
    expect(onTimeInFull(delivery({ delivered: { at: T0 + D, items: 2 } }), T0 + 9 * D).state).toBe('bad')
  })

  it('is pending until the promise passes without a delivery', () => {
    expect(onTimeInFull(delivery({}), T0 + 2 * D).state).toBe('pending')
    expect(onTimeInFull(delivery({}), T0 + 2 * D + 1).state).toBe('bad')
  })
})

describe('nothing_broke', () => {
  const delivered = { at: T0 + D, items: 3 }

  it('is a provisional success until day 7 after delivery, then final', () => {
    expect(nothingBroke(delivery({ delivered }), T0 + 3 * D)).toEqual({
      state: 'good',
      status: 'provisional',
    })
    expect(nothingBroke(delivery({ delivered }), T0 + 8 * D + 1)).toEqual({ state: 'good', status: 'final' })
  })

  it('counts a damage report within 7 days, not one after', () => {
    expect(
      nothingBroke(delivery({ delivered, damage: { at: T0 + 7 * D, items: 1 } }), T0 + 30 * D).state,
    ).toBe('bad')
    expect(
      nothingBroke(delivery({ delivered, damage: { at: T0 + 8 * D + 1, items: 1 } }), T0 + 30 * D),
    ).toEqual({
      state: 'good',
      status: 'final',
    })
  })

  it('keeps an undelivered delivery pending, and leaves it out a week after its promise', () => {
    expect(nothingBroke(delivery({}), T0 + 3 * D).state).toBe('pending')
    expect(nothingBroke(delivery({}), T0 + 9 * D + 1).state).toBe('excluded')
  })
})

const ticket = (steps: TicketStep[], channel: TicketFact['channel'] = 'email'): TicketFact => ({
  ...base,
  kind: 'ticket',
  channel,
  category: 'billing',
  priority: 'normal',
  steps,
})
const resolvedAt = (ms: number): TicketStep => ({ at: T0 + ms, type: 'resolved' })
const customerMessage = (ms: number): TicketStep => ({
  at: T0 + ms,
  type: 'message',
  direction: 'inbound',
  author: 'customer',
})

describe('first_time_resolution', () => {
  it('a reopen on day 6 after resolution fails the ticket; one on day 8 does not', () => {
    const day6 = ticket([resolvedAt(H), { at: T0 + H + 6 * D, type: 'reopened' }])
    const day8 = ticket([resolvedAt(H), { at: T0 + H + 8 * D, type: 'reopened' }])
    expect(firstTimeResolution(day6, T0 + 30 * D)).toEqual({ state: 'bad', status: 'final' })
    expect(firstTimeResolution(day8, T0 + 30 * D)).toEqual({ state: 'good', status: 'final' })
    // Before the reopen happens, the day-6 ticket is a provisional success.
    expect(firstTimeResolution(day6, T0 + 2 * D)).toEqual({ state: 'good', status: 'provisional' })
  })

  it('fails at once on a second customer contact or a transfer, resolved or not', () => {
    expect(firstTimeResolution(ticket([customerMessage(H)]), T0 + 2 * H).state).toBe('bad')
    expect(
      firstTimeResolution(ticket([{ at: T0 + H, type: 'transferred' }, resolvedAt(2 * H)]), T0 + D).state,
    ).toBe('bad')
    expect(firstTimeResolution(ticket([resolvedAt(H), customerMessage(3 * D)]), T0 + 4 * D).state).toBe('bad')
  })

  it('does not count bot or agent messages as contacts', () => {
    const steps: TicketStep[] = [
      { at: T0 + S, type: 'message', direction: 'outbound', author: 'bot' },
      { at: T0 + H, type: 'message', direction: 'outbound', author: 'agent' },
      resolvedAt(2 * H),
    ]
    expect(firstTimeResolution(ticket(steps), T0 + 10 * D)).toEqual({ state: 'good', status: 'final' })
  })

  it('is a miss when unresolved after 72 hours, even if resolved later', () => {
    expect(firstTimeResolution(ticket([]), T0 + 72 * H).state).toBe('pending')
    expect(firstTimeResolution(ticket([]), T0 + 72 * H + 1).state).toBe('bad')
    expect(firstTimeResolution(ticket([resolvedAt(80 * H)]), T0 + 30 * D).state).toBe('bad')
  })
})

describe('first_reply_2h', () => {
  const agentReply = (ms: number): TicketStep => ({
    at: T0 + ms,
    type: 'message',
    direction: 'outbound',
    author: 'agent',
  })

  it('counts the first agent reply within 2 hours; bots do not count', () => {
    expect(firstReply2h(ticket([agentReply(2 * H)]), T0 + D)).toEqual({
      state: 'good',
      status: 'final',
      latencyMs: 2 * H,
    })
    const botOnly = ticket([
      { at: T0 + S, type: 'message', direction: 'outbound', author: 'bot' },
      agentReply(3 * H),
    ])
    expect(firstReply2h(botOnly, T0 + D)).toMatchObject({ state: 'bad', latencyMs: 3 * H })
  })

  it('leaves out tickets opened on phone or web', () => {
    expect(firstReply2h(ticket([agentReply(H)], 'phone'), T0 + D).state).toBe('excluded')
    expect(firstReply2h(ticket([agentReply(H)], 'web'), T0 + D).state).toBe('excluded')
    expect(firstReply2h(ticket([agentReply(H)], 'chat'), T0 + D).state).toBe('good')
  })
})

describe('phone_answer_20s', () => {
  const call = (end?: CallFact['end']): CallFact => ({
    ...base,
    kind: 'call',
    queue: 'claims',
    ...(end ? { end } : {}),
  })

  it('leaves out a call abandoned at 19 s and counts one abandoned at 21 s as a miss', () => {
    expect(phoneAnswer20s(call({ kind: 'abandoned', at: T0 + 19 * S }), T0 + H).state).toBe('excluded')
    expect(phoneAnswer20s(call({ kind: 'abandoned', at: T0 + 21 * S }), T0 + H)).toEqual({
      state: 'bad',
      status: 'final',
      latencyMs: 21 * S,
    })
  })

  it('counts an answer at exactly 20 s as within, and a caller still waiting past 20 s as a miss', () => {
    expect(phoneAnswer20s(call({ kind: 'answered', at: T0 + 20 * S }), T0 + H).state).toBe('good')
    expect(phoneAnswer20s(call({ kind: 'answered', at: T0 + 20 * S + 1 }), T0 + H).state).toBe('bad')
    expect(phoneAnswer20s(call(), T0 + 20 * S).state).toBe('pending')
    expect(phoneAnswer20s(call(), T0 + 25 * S)).toEqual({ state: 'bad', status: 'final', latencyMs: 25 * S })
  })
})

describe('csat', () => {
  const survey = (score?: number): SurveyFact => ({
    kind: 'survey',
    id: 's',
    subject: 'T-1',
    subjectType: 'ticket',
    at: T0,
    customerId: 'c',
    ...(score === undefined ? {} : { csat: score }),
  })
  it('is good for 4 and 5, bad below, and leaves out responses without a score', () => {
    expect(csat(survey(4), T0).state).toBe('good')
    expect(csat(survey(3), T0).state).toBe('bad')
    expect(csat(survey(), T0).state).toBe('excluded')
  })
})

describe('payment_flexibility', () => {
  const checkout = (end?: CheckoutFact['end']): CheckoutFact => ({
    ...base,
    kind: 'checkout',
    channel: 'web',
    product: 'home',
    offered: ['card', 'paypal'],
    preferred: 'paypal',
    expiresAt: T0 + H,
    ...(end ? { end } : {}),
  })

  it('is good paid with an offered method, bad abandoned at payment or paid by a method not offered', () => {
    expect(
      paymentFlexibility(checkout({ kind: 'completed', at: T0 + 60 * S, method: 'paypal' }), T0 + H),
    ).toEqual({
      state: 'good',
      status: 'final',
    })
    const left = checkout({
      kind: 'abandoned',
      at: T0 + 60 * S,
      stage: 'payment',
      reason: 'no suitable payment method',
    })
    expect(paymentFlexibility(left, T0 + H)).toEqual({ state: 'bad', status: 'final' })
    expect(
      paymentFlexibility(checkout({ kind: 'completed', at: T0 + 60 * S, method: 'invoice' }), T0 + H).state,
    ).toBe('bad')
  })

  it('leaves out one abandoned before payment, and one that lapsed without a word once it expired', () => {
    const early = checkout({ kind: 'abandoned', at: T0 + 60 * S, stage: 'shipping', reason: 'shipping cost' })
    expect(paymentFlexibility(early, T0 + H).state).toBe('excluded')
    expect(paymentFlexibility(checkout(), T0 + H).state).toBe('pending')
    expect(paymentFlexibility(checkout(), T0 + H + 1).state).toBe('excluded')
    // Not known yet: pending.
    expect(
      paymentFlexibility(checkout({ kind: 'completed', at: T0 + 60 * S, method: 'card' }), T0 + 59 * S).state,
    ).toBe('pending')
  })

  it('settles only a miss at the instant the checkout ends: a fitting payment or an early abandonment waits past it', () => {
    const at = T0 + 60 * S
    const paid = checkout({ kind: 'completed', at, method: 'card' })
    expect(paymentFlexibility(paid, at)).toEqual({ state: 'good', status: 'provisional' })
    expect(paymentFlexibility(paid, at + 1)).toEqual({ state: 'good', status: 'final' })
    const early = checkout({ kind: 'abandoned', at, stage: 'cart', reason: 'just looking' })
    expect(paymentFlexibility(early, at)).toEqual({ state: 'pending' })
    expect(paymentFlexibility(early, at + 1)).toEqual({ state: 'excluded' })
    const atPayment = checkout({
      kind: 'abandoned',
      at,
      stage: 'payment',
      reason: 'no suitable payment method',
    })
    expect(paymentFlexibility(atPayment, at)).toEqual({ state: 'bad', status: 'final' })
    expect(paymentFlexibility(checkout({ kind: 'completed', at, method: 'invoice' }), at)).toEqual({
      state: 'bad',
      status: 'final',
    })
  })

  it('decides a checkout completed after its session expired by that completion, once it is known', () => {
    const late = checkout({ kind: 'completed', at: T0 + 2 * H, method: 'paypal' })
    expect(paymentFlexibility(late, T0 + H + 1).state).toBe('excluded')
    expect(paymentFlexibility(late, T0 + 2 * H + 1)).toEqual({ state: 'good', status: 'final' })
  })
})

describe('value_delivered and the customer value', () => {
  const credit = (overrides: Partial<ValueFact>): ValueFact => ({
    kind: 'value',
    subject: 'V-1',
    at: T0,
    customerId: 'c',
    region: 'north',
    product: 'home',
    valueKind: 'savings',
    amount: 15,
    unit: 'EUR',
    period: '2026-11',
    ...overrides,
  })

  it('is good when a credit reaches its promise, bad below it, left out without one', () => {
    expect(valueDelivered(credit({ promised: 15 }), T0)).toEqual({ state: 'good', status: 'final' })
    expect(valueDelivered(credit({ promised: 15.01 }), T0)).toEqual({ state: 'bad', status: 'final' })
    expect(valueDelivered(credit({}), T0).state).toBe('excluded')
    expect(valueDelivered(credit({ promised: 1 }), T0 - 1).state).toBe('pending')
  })

  it('sums a customer’s credits per kind and unit, as of a time, promises beside them', () => {
    const facts = [
      credit({ subject: 'V-1', amount: 10.5, promised: 10 }),
      credit({ subject: 'V-2', amount: 4.25, at: T0 + D }),
      credit({ subject: 'V-3', valueKind: 'usage', unit: 'hours', amount: 3, promised: 4 }),
      credit({ subject: 'V-4', customerId: 'other', amount: 99 }),
      credit({ subject: 'V-5', amount: 1, at: T0 + 2 * D }),
    ]
    expect(customerValue(facts, 'c', T0 + D)).toEqual({
      credits: 3,
      totals: [
        {
          kind: 'savings',
          unit: 'EUR',
          amount: 14.75,
          promised: 10,
          credits: 2,
          withPromise: 1,
          metPromise: 1,
        },
        { kind: 'usage', unit: 'hours', amount: 3, promised: 4, credits: 1, withPromise: 1, metPromise: 0 },
      ],
    })
    expect(customerValue(facts, 'nobody', T0 + D)).toEqual({ credits: 0, totals: [] })
  })
})

describe('groundTruth', () => {
  it('puts each interaction in the window of its first event and counts each dimension and all', () => {
    const late = { ...quote(60 * S), subject: 'Q-late' }
    const fast = {
      ...quote(5 * S),
      subject: 'Q-fast',
      startedAt: T0 + 59 * S,
      answer: { kind: 'issued' as const, at: T0 + 64 * S },
    }
    const open = { ...quote(), subject: 'Q-open', startedAt: T0 + 61 * S }
    const truth = groundTruth([late, fast, open], { asOf: T0 + 70 * S })
    expect(truth.totals.fast_quote).toEqual({ good: 1, total: 2, pending: 1, provisional: 0 })
    const all = truth.rows.filter((row) => row.cpi === 'fast_quote' && row.dimension === 'all')
    expect(all).toEqual([
      {
        cpi: 'fast_quote',
        windowStart: '2026-11-22T10:00:00.000Z',
        dimension: 'all',
        value: 'all',
        good: 1,
        total: 2,
        pending: 0,
        provisional: 0,
      },
      {
        cpi: 'fast_quote',
        windowStart: '2026-11-22T10:01:00.000Z',
        dimension: 'all',
        value: 'all',
        good: 0,
        total: 0,
        pending: 1,
        provisional: 0,
      },
    ])
    expect(truth.rows.filter((row) => row.dimension === 'channel' && row.value === 'web')).toHaveLength(2)
  })
})
