import { beforeAll, describe, expect, it } from 'vitest'
import { loadCatalog } from './catalog.ts'
import {
  decideInteraction,
  decideKnown,
  decideResponse,
  type InteractionEvent,
  knownEvents,
} from './decide.ts'
import type { CpiDefinition, SurveyDefinition } from './definition.ts'

const T0 = Date.parse('2026-11-22T10:00:00Z')
const S = 1000
const H = 3_600_000
const D = 24 * H

let catalog: Map<string, CpiDefinition>
beforeAll(async () => {
  catalog = new Map((await loadCatalog()).map((definition) => [definition.name, definition]))
})
const definition = (name: string) => catalog.get(name) as Exclude<CpiDefinition, SurveyDefinition>
let serial = 0
const event = (
  type: string,
  at: number,
  data: Record<string, unknown> = {},
  id = `e${serial++}`,
): InteractionEvent => ({
  id,
  type,
  time: T0 + at,
  data,
})
const decide = (name: string, events: InteractionEvent[], watermarkOffset: number) =>
  decideInteraction(definition(name), events, T0 + watermarkOffset)

describe('fast_quote', () => {
  const requested = (customerType = 'consumer') =>
    event('quote.requested', 0, {
      customerId: 'c',
      customerType,
      channel: 'web',
      region: 'north',
      product: 'home',
    })

  it('counts an answer exactly at the deadline as within, a millisecond later as a miss', () => {
    expect(decide('fast_quote', [requested(), event('quote.issued', 30 * S)], D)).toMatchObject({
      state: 'good',
      status: 'final',
      latencyMs: 30 * S,
    })
    expect(decide('fast_quote', [requested(), event('quote.issued', 30 * S + 1)], D)).toMatchObject({
      state: 'bad',
    })
  })

  it('decides the same when the completion arrives before the request, or twice', () => {
    const issued = event('quote.issued', 10 * S)
    const inOrder = decide('fast_quote', [requested(), issued], D)
    expect(decide('fast_quote', [issued, requested()], D)).toEqual(inOrder)
    expect(decide('fast_quote', [issued, requested(), { ...issued }, issued], D)).toEqual(inOrder)
    // A completion whose request has not arrived yet is no interaction of this CPI yet.
    expect(decide('fast_quote', [issued], D)).toBeUndefined()
  })

  it('takes the first of the completion types, a decline included', () => {
    const decision = decide(
      'fast_quote',
      [requested(), event('quote.declined', 5 * S), event('quote.issued', 40 * S)],
      D,
    )
    expect(decision).toMatchObject({ state: 'good', latencyMs: 5 * S })
  })

  it('is pending until the watermark passes the deadline, then a miss with the wait so far; business gets 24 h', () => {
    expect(decide('fast_quote', [requested()], 30 * S)).toMatchObject({
      state: 'pending',
      revisitAt: T0 + 30 * S + 1,
    })
    expect(decide('fast_quote', [requested()], 45 * S)).toMatchObject({ state: 'bad', latencyMs: 45 * S })
    expect(decide('fast_quote', [requested('business'), event('quote.issued', 23 * H)], D)).toMatchObject({
      state: 'good',
    })
  })

  it('ignores events after the watermark: the answer is as of the watermark', () => {
    expect(decide('fast_quote', [requested(), event('quote.issued', 10 * S)], 5 * S)).toMatchObject({
      state: 'pending',
    })
  })

  it('reads its segments from the first event', () => {
    expect(decide('fast_quote', [requested('business')], 0)?.segments).toEqual({
      channel: 'web',
      region: 'north',
      product: 'home',
      customerType: 'business',
    })
  })
})

describe('on_time_in_full and nothing_broke', () => {
  const scheduled = event('delivery.scheduled', 0, {
    customerId: 'c',
    promisedBy: new Date(T0 + 2 * D).toISOString(),
    items: 3,
    region: 'north',
    carrier: 'parcelco',
  })

  it('on_time_in_full: in full by the promise is good; short by one item is bad; the promise itself is within', () => {
    expect(
      decide(
        'on_time_in_full',
        [scheduled, event('delivery.delivered', 2 * D, { itemsDelivered: 3 })],
        9 * D,
      ),
    ).toMatchObject({
      state: 'good',
    })
    expect(
      decide('on_time_in_full', [scheduled, event('delivery.delivered', D, { itemsDelivered: 2 })], 9 * D),
    ).toMatchObject({
      state: 'bad',
    })
    expect(decide('on_time_in_full', [scheduled], 2 * D)).toMatchObject({ state: 'pending' })
    expect(decide('on_time_in_full', [scheduled], 2 * D + 1)).toMatchObject({ state: 'bad' })
  })

  it('nothing_broke: provisional until day 7 after delivery, a damage report within 7 days fails it, one after does not', () => {
    const delivered = event('delivery.delivered', D, { itemsDelivered: 3 })
    expect(decide('nothing_broke', [scheduled, delivered], 3 * D)).toMatchObject({
      state: 'good',
      status: 'provisional',
      revisitAt: T0 + 8 * D + 1,
    })
    expect(decide('nothing_broke', [scheduled, delivered], 8 * D + 1)).toMatchObject({
      state: 'good',
      status: 'final',
    })
    const damagedDay7 = event('delivery.damage_reported', 8 * D, { itemsDamaged: 1 })
    expect(decide('nothing_broke', [scheduled, delivered, damagedDay7], 30 * D)).toMatchObject({
      state: 'bad',
    })
    const damagedLater = event('delivery.damage_reported', 8 * D + 1, { itemsDamaged: 1 })
    expect(decide('nothing_broke', [scheduled, delivered, damagedLater], 30 * D)).toMatchObject({
      state: 'good',
      status: 'final',
    })
  })

  it('nothing_broke: pending while under way, left out a week after the promise without delivery', () => {
    expect(decide('nothing_broke', [scheduled], 3 * D)).toMatchObject({ state: 'pending' })
    expect(decide('nothing_broke', [scheduled], 9 * D + 1)).toMatchObject({ state: 'excluded' })
  })
})

describe('first_time_resolution and first_reply_2h', () => {
  const opened = (channel = 'email') =>
    event('ticket.opened', 0, { customerId: 'c', channel, category: 'billing', region: 'north' })
  const resolved = event('ticket.resolved', H)

  it('a reopen on day 6 fails the ticket; on day 8 it does not', () => {
    expect(
      decide('first_time_resolution', [opened(), resolved, event('ticket.reopened', H + 6 * D)], 30 * D),
    ).toMatchObject({
      state: 'bad',
    })
    expect(
      decide('first_time_resolution', [opened(), resolved, event('ticket.reopened', H + 8 * D)], 30 * D),
    ).toMatchObject({
      state: 'good',
      status: 'final',
    })
  })

  it('fails on a second customer contact or a transfer; agent and bot messages are no contacts', () => {
    const inbound = event('ticket.message', 30 * 60 * S, { direction: 'inbound', author: 'customer' })
    expect(decide('first_time_resolution', [opened(), inbound, resolved], D)).toMatchObject({ state: 'bad' })
    expect(
      decide('first_time_resolution', [opened(), event('ticket.transferred', 10 * S), resolved], D),
    ).toMatchObject({
      state: 'bad',
    })
    const replies = [
      event('ticket.message', S, { direction: 'outbound', author: 'bot' }),
      event('ticket.message', 2 * S, { direction: 'outbound', author: 'agent' }),
    ]
    expect(decide('first_time_resolution', [opened(), ...replies, resolved], D)).toMatchObject({
      state: 'good',
      status: 'provisional',
    })
  })

  it('is a miss unresolved after 72 hours', () => {
    expect(decide('first_time_resolution', [opened()], 72 * H)).toMatchObject({ state: 'pending' })
    expect(decide('first_time_resolution', [opened()], 72 * H + 1)).toMatchObject({ state: 'bad' })
  })

  it('first_reply_2h counts email and chat only, and only an agent reply', () => {
    const agent = event('ticket.message', 2 * H, { direction: 'outbound', author: 'agent' })
    expect(decide('first_reply_2h', [opened(), agent], D)).toMatchObject({ state: 'good', latencyMs: 2 * H })
    expect(decide('first_reply_2h', [opened('phone'), agent], D)).toMatchObject({ state: 'excluded' })
    const bot = event('ticket.message', S, { direction: 'outbound', author: 'bot' })
    expect(decide('first_reply_2h', [opened('chat'), bot], D)).toMatchObject({ state: 'bad', latencyMs: D })
  })
})

describe('phone_answer_20s', () => {
  const queued = event('call.queued', 0, { queue: 'claims', region: 'north' })

  it('leaves out a call abandoned at 19 s, counts one abandoned at 21 s as a miss that waited 21 s', () => {
    expect(decide('phone_answer_20s', [queued, event('call.abandoned', 19 * S)], H)).toMatchObject({
      state: 'excluded',
    })
    expect(decide('phone_answer_20s', [queued, event('call.abandoned', 21 * S)], H)).toMatchObject({
      state: 'bad',
      latencyMs: 21 * S,
    })
  })

  it('answered at exactly 20 s is within; still waiting past 20 s is a miss', () => {
    expect(decide('phone_answer_20s', [queued, event('call.answered', 20 * S)], H)).toMatchObject({
      state: 'good',
    })
    expect(decide('phone_answer_20s', [queued], 25 * S)).toMatchObject({ state: 'bad', latencyMs: 25 * S })
  })
})

describe('csat', () => {
  it('is good at 4 and 5, bad below, left out without a score', () => {
    const csat = catalog.get('csat') as SurveyDefinition
    const response = (score?: number) =>
      event('survey.responded', 0, { subjectType: 'ticket', ...(score ? { csat: score } : {}) })
    expect(decideResponse(csat, response(4), T0)).toMatchObject({
      state: 'good',
      segments: { subjectType: 'ticket' },
    })
    expect(decideResponse(csat, response(3), T0)).toMatchObject({ state: 'bad' })
    expect(decideResponse(csat, response(), T0)).toMatchObject({ state: 'excluded' })
  })
})

describe('payment_flexibility', () => {
  const M = 60 * S
  const started = (offeredMethods = ['card', 'paypal']) =>
    event('checkout.started', 0, {
      customerId: 'c',
      channel: 'app',
      region: 'north',
      offeredMethods,
      expiresAt: new Date(T0 + H).toISOString(),
    })
  const completed = (at: number, paymentMethod: string) => event('checkout.completed', at, { paymentMethod })
  const abandoned = (at: number, stage: string) => event('checkout.abandoned', at, { stage })

  it('is good when the checkout completes with a method it offered, final once past its instant', () => {
    // As of the completion's own instant a failure at that instant may still come (and would win).
    expect(decide('payment_flexibility', [started(), completed(3 * M, 'paypal')], 3 * M)).toEqual({
      state: 'good',
      status: 'provisional',
      revisitAt: T0 + 3 * M + 1,
      cohortAt: T0,
      segments: { channel: 'app', region: 'north' },
    })
    expect(decide('payment_flexibility', [started(), completed(3 * M, 'paypal')], 3 * M + 1)).toEqual({
      state: 'good',
      status: 'final',
      cohortAt: T0,
      segments: { channel: 'app', region: 'north' },
    })
  })

  it('at one instant, a failure wins over the completion, and the completion over an exclusion, whichever came first', () => {
    const events = {
      good: completed(3 * M, 'card'),
      offList: completed(3 * M, 'invoice'),
      atPayment: abandoned(3 * M, 'payment'),
      atCart: abandoned(3 * M, 'cart'),
    }
    const cases: [(keyof typeof events)[], string][] = [
      [['good', 'atPayment'], 'bad'],
      [['good', 'offList'], 'bad'],
      [['good', 'atCart'], 'good'],
      [['atPayment', 'atCart'], 'bad'],
      [['good', 'atPayment', 'atCart'], 'bad'],
    ]
    for (const [names, state] of cases) {
      const same = names.map((name) => events[name])
      // Every order of arrival, and every spelling of the ids (the tie-break of equal times).
      for (const order of [same, [...same].reverse()])
        for (const ids of [order.map((_, at) => `a${at}`), order.map((_, at) => `z${9 - at}`)]) {
          const arrived = [started(), ...order.map((one, at) => ({ ...one, id: ids[at] as string }))]
          expect(decide('payment_flexibility', arrived, 10 * M), `${names} ${ids}`).toMatchObject({ state })
        }
    }
  })

  it('never changes a decision written at an instant for an event of that instant that comes after it', () => {
    const sequences = [
      [completed(3 * M, 'card'), abandoned(3 * M, 'payment')],
      [abandoned(3 * M, 'payment'), completed(3 * M, 'card')],
      [abandoned(3 * M, 'cart'), completed(3 * M, 'card')],
      [abandoned(3 * M, 'cart'), abandoned(3 * M, 'payment')],
      [completed(3 * M, 'card'), abandoned(3 * M, 'cart')],
    ]
    for (const [first, second] of sequences) {
      // The watermark is at the instant when the first arrives; the second (same instant) is not late.
      const before = decide('payment_flexibility', [started(), first as InteractionEvent], 3 * M)
      const after = decide(
        'payment_flexibility',
        [started(), first as InteractionEvent, second as InteractionEvent],
        3 * M,
      )
      const final = (decision: typeof before) =>
        decision?.state === 'excluded' || decision?.status === 'final' ? decision.state : undefined
      // What was written final (or left out) stays; only a provisional or pending decision may move.
      if (final(before) !== undefined)
        expect(after?.state, JSON.stringify([first, second])).toBe(before?.state)
      const later = decide(
        'payment_flexibility',
        [started(), first as InteractionEvent, second as InteractionEvent],
        3 * M + 1,
      )
      expect(later?.state === 'excluded' || later?.status === 'final').toBe(true)
    }
    // An abandonment before payment leaves the checkout out once past its instant, pending until then.
    expect(decide('payment_flexibility', [started(), abandoned(3 * M, 'cart')], 3 * M)).toMatchObject({
      state: 'pending',
      revisitAt: T0 + 3 * M + 1,
    })
  })

  it('is a miss when abandoned at the payment step, or paid by a method the checkout did not offer', () => {
    expect(decide('payment_flexibility', [started(), abandoned(4 * M, 'payment')], 5 * M)).toMatchObject({
      state: 'bad',
      status: 'final',
    })
    // An agent took an invoice by hand: the customer paid, but no offered option fitted.
    expect(decide('payment_flexibility', [started(), completed(9 * M, 'invoice')], 10 * M)).toMatchObject({
      state: 'bad',
      status: 'final',
    })
    expect(
      decide('payment_flexibility', [started(['card', 'invoice']), completed(9 * M, 'invoice')], 10 * M),
    ).toMatchObject({ state: 'good' })
  })

  it('leaves out a checkout abandoned before its payment step, and one that lapses with neither', () => {
    for (const stage of ['cart', 'details', 'shipping'])
      expect(decide('payment_flexibility', [started(), abandoned(2 * M, stage)], 5 * M)).toMatchObject({
        state: 'excluded',
      })
    // Pending until the session lapses (its expiry itself still pending), then left out.
    expect(decide('payment_flexibility', [started()], H)).toMatchObject({
      state: 'pending',
      revisitAt: T0 + H + 1,
    })
    expect(decide('payment_flexibility', [started()], H + 1)).toMatchObject({ state: 'excluded' })
    // Left out while nothing has come: a completion after the expiry still decides it.
    expect(decide('payment_flexibility', [started(), completed(H + 5 * M, 'card')], H + 6 * M)).toMatchObject(
      {
        state: 'good',
        status: 'final',
      },
    )
  })

  it('takes the first of the events: a completion after an abandonment at payment stays a miss, in any order', () => {
    const events = [completed(20 * M, 'card'), abandoned(10 * M, 'payment'), started()]
    expect(decide('payment_flexibility', events, 30 * M)).toMatchObject({ state: 'bad' })
    // A completion known only after the watermark does not count yet.
    expect(decide('payment_flexibility', [started(), completed(20 * M, 'card')], 10 * M)).toMatchObject({
      state: 'pending',
    })
  })
})

describe('value_delivered', () => {
  const credited = (amount: number, promised?: number) =>
    event('value.credited', 0, {
      customerId: 'c',
      kind: 'savings',
      amount,
      unit: 'EUR',
      region: 'north',
      ...(promised === undefined ? {} : { promised }),
    })
  const value = () => catalog.get('value_delivered') as SurveyDefinition

  it('is good when the credit reaches what was promised (exactly is within), bad below it', () => {
    expect(decideResponse(value(), credited(15, 15), T0)).toEqual({
      state: 'good',
      status: 'final',
      cohortAt: T0,
      segments: { kind: 'savings', region: 'north' },
    })
    expect(decideResponse(value(), credited(18.4, 15), T0)).toMatchObject({ state: 'good' })
    expect(decideResponse(value(), credited(14.99, 15), T0)).toMatchObject({ state: 'bad', status: 'final' })
  })

  it('leaves out a credit without a promise (it still counts in the customer value), pending until the watermark', () => {
    expect(decideResponse(value(), credited(3), T0)).toMatchObject({ state: 'excluded' })
    expect(decideResponse(value(), credited(20, 15), T0 - 1)).toMatchObject({
      state: 'pending',
      revisitAt: T0,
    })
  })
})

describe('a custom CPI from a file, with no code change', () => {
  it('speed_to_lead: the first agent reply to a web ticket within 5 minutes', async () => {
    const custom = await loadCatalog([new URL('../test-fixtures/speed-to-lead.json', import.meta.url)])
    const speed = custom[0] as Exclude<CpiDefinition, SurveyDefinition>
    const web = event('ticket.opened', 0, {
      customerId: 'c',
      channel: 'web',
      region: 'north',
      category: 'sales',
    })
    const reply = (at: number) => event('ticket.message', at, { direction: 'outbound', author: 'agent' })
    expect(decideInteraction(speed, [web, reply(5 * 60 * S)], T0 + H)).toMatchObject({
      state: 'good',
      latencyMs: 5 * 60 * S,
      segments: { region: 'north', category: 'sales' },
    })
    expect(decideInteraction(speed, [web, reply(6 * 60 * S)], T0 + H)).toMatchObject({ state: 'bad' })
    const email = event('ticket.opened', 0, { customerId: 'c', channel: 'email' })
    expect(decideInteraction(speed, [email, reply(S)], T0 + H)).toMatchObject({ state: 'excluded' })
  })
})

describe('knownEvents and decideKnown', () => {
  it('order an interaction once for every CPI: the same decisions as decideInteraction, for each definition', () => {
    // Out of order, a duplicate identity (the first copy wins), one event beyond the watermark.
    const events = [
      event('ticket.replied', 20 * 60 * S, { author: 'agent' }, 't-replied'),
      event('ticket.opened', 0, { customerId: 'c', channel: 'email', priority: 'high' }, 't-opened'),
      event('ticket.opened', 5 * S, { customerId: 'c', channel: 'web', priority: 'low' }, 't-opened'),
      event('ticket.resolved', 2 * H, {}, 't-resolved'),
      event('ticket.reopened', 3 * D, {}, 't-reopened'),
    ]
    const watermark = T0 + D
    const known = knownEvents(events, watermark)
    expect(known.map((known) => known.id)).toEqual(['t-opened', 't-replied', 't-resolved'])
    expect(known[0]?.data.channel).toBe('email')
    const decided = [...catalog.values()].filter((cpi) => cpi.shape !== 'survey')
    expect(decided.length).toBeGreaterThan(3)
    for (const cpi of decided) {
      const definition = cpi as Exclude<CpiDefinition, SurveyDefinition>
      expect(decideKnown(definition, known, watermark), cpi.name).toEqual(
        decideInteraction(definition, events, watermark),
      )
    }
    expect(decided.some((cpi) => decideInteraction(cpi as never, events, watermark) !== undefined)).toBe(true)
  })
})
