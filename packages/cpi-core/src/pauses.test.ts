import { describe, expect, it } from 'vitest'
import { CatalogError, parseCatalog } from './catalog.ts'
import { decideInteraction, type InteractionEvent } from './decide.ts'
import type { LatencyDefinition } from './definition.ts'

// Pausing clocks (docs/cpi-catalog.md, Pausing clocks): a ticket waiting on the customer stops the clock until the
// customer replies; paused time counts neither in the latency nor toward the deadline. Every
// expected value is computed by hand.

const M = 60_000
const H = 60 * M
const day1 = (clock: string) => Date.parse(`2026-12-07T${clock}:00Z`) // a Monday
const day2 = (clock: string) => Date.parse(`2026-12-08T${clock}:00Z`)

const resolution = (overrides: Record<string, unknown> = {}) => ({
  name: 'resolved_8h',
  displayName: 'Resolved within 8 hours',
  description: 'Resolved within eight hours of our own time: waiting on the customer does not count.',
  owner: 'support',
  version: 1,
  shape: 'latency',
  start: { type: 'ticket.opened' },
  completion: [{ type: 'ticket.resolved' }],
  expectation: { within: '8h' },
  pauses: [
    {
      pause: { type: 'ticket.message', where: { direction: 'outbound', status: 'waiting_on_customer' } },
      resume: { type: 'ticket.message', where: { direction: 'inbound' } },
    },
  ],
  ...overrides,
})
const cpiOf = (cpi: Record<string, unknown>, calendars: unknown[] = []) =>
  parseCatalog({ calendars, cpis: [cpi] })[0] as LatencyDefinition

let serial = 0
const at = (type: string, time: number, data: Record<string, unknown> = {}): InteractionEvent => ({
  id: `e${serial++}`,
  type,
  time,
  data,
})
const opened = (time: number) => at('ticket.opened', time, { channel: 'email' })
const waitingOnCustomer = (time: number) =>
  at('ticket.message', time, { direction: 'outbound', author: 'agent', status: 'waiting_on_customer' })
const customerReplied = (time: number) =>
  at('ticket.message', time, { direction: 'inbound', author: 'customer' })
const resolved = (time: number) => at('ticket.resolved', time)

describe('a clock that pauses', () => {
  const cpi = cpiOf(resolution())

  it('leaves the time waiting on the customer out of the latency and moves the deadline by it', () => {
    // Opened 10:00, waiting on the customer 11:00–15:00, resolved 19:30: 9 h 30 less 4 h paused.
    const events = [opened(day1('10:00')), waitingOnCustomer(day1('11:00')), customerReplied(day1('15:00'))]
    expect(decideInteraction(cpi, [...events, resolved(day1('19:30'))], day2('00:00'))).toMatchObject({
      state: 'good',
      latencyMs: 5 * H + 30 * M,
      pauses: 1,
      pausedMs: 4 * H,
    })
    // The deadline is 10:00 + 8 h + the 4 h paused = 22:00: resolved at 22:00 is within, 22:01 not.
    expect(decideInteraction(cpi, [...events, resolved(day1('22:00'))], day2('00:00'))?.state).toBe('good')
    expect(decideInteraction(cpi, [...events, resolved(day1('22:01'))], day2('00:00'))).toMatchObject({
      state: 'bad',
      latencyMs: 8 * H + M,
    })
    expect(decideInteraction(cpi, events, day1('18:00'))?.revisitAt).toBe(day1('22:00') + 1)
  })

  it('stays pending while paused, with no revisit: the resume is an event', () => {
    const waiting = [opened(day1('10:00')), waitingOnCustomer(day1('11:00'))]
    expect(decideInteraction(cpi, waiting, day2('12:00'))).toEqual({
      state: 'pending',
      cohortAt: day1('10:00'),
      segments: {},
    })
    // Resolved while still waiting: the wait stops at the pause (1 h), the pause up to the resolution counted.
    expect(decideInteraction(cpi, [...waiting, resolved(day1('16:00'))], day2('12:00'))).toMatchObject({
      state: 'good',
      latencyMs: 1 * H,
      pauses: 1,
      pausedMs: 5 * H,
    })
  })

  it('carries the time left over a pause: 1 h left at 17:00, resumed at 09:00, due at 10:00', () => {
    const events = [opened(day1('10:00')), waitingOnCustomer(day1('17:00')), customerReplied(day2('09:00'))]
    expect(decideInteraction(cpi, events, day2('09:30'))?.revisitAt).toBe(day2('10:00') + 1)
    // Still unresolved at 10:30: late by half an hour, measured now (24 h 30 less 16 h paused) and again in an hour.
    expect(decideInteraction(cpi, events, day2('10:30'))).toEqual({
      state: 'bad',
      status: 'final',
      cohortAt: day1('10:00'),
      segments: {},
      latencyMs: 8 * H + 30 * M,
      pauses: 1,
      pausedMs: 16 * H,
      revisitAt: day2('10:30') + H,
    })
  })

  it('counts each pause once: a second pause while paused and a resume while running change nothing', () => {
    const events = [
      opened(day1('08:00')),
      customerReplied(day1('08:30')), // a reply with no pause before it: the clock runs on
      waitingOnCustomer(day1('09:00')),
      waitingOnCustomer(day1('10:00')), // already paused
      customerReplied(day1('11:00')),
      waitingOnCustomer(day1('12:00')),
      customerReplied(day1('12:30')),
      resolved(day1('14:00')),
    ]
    // 6 h less 2 h and 30 min paused.
    expect(decideInteraction(cpi, events, day2('00:00'))).toMatchObject({
      state: 'good',
      latencyMs: 3 * H + 30 * M,
      pauses: 2,
      pausedMs: 2 * H + 30 * M,
    })
    // The same events in any order decide the same.
    expect(decideInteraction(cpi, [...events].reverse(), day2('00:00'))).toEqual(
      decideInteraction(cpi, events, day2('00:00')),
    )
  })

  it('pauses working time on a business-hours calendar', () => {
    const weekday = [{ from: '09:00', to: '17:00' }]
    const desk = {
      name: 'desk_utc',
      timeZone: 'UTC',
      week: { mon: weekday, tue: weekday, wed: weekday, thu: weekday, fri: weekday },
    }
    const onDesk = cpiOf(resolution({ expectation: { within: '4h', calendar: 'desk_utc' } }), [desk])
    // Opened Monday 09:00, waiting on the customer from 12:00 to Tuesday 10:00 (5 h + 1 h of
    // working time), 1 h left: due Tuesday 11:00; resolved 10:30: 9 h 30 of working time less 6 h.
    const events = [opened(day1('09:00')), waitingOnCustomer(day1('12:00')), customerReplied(day2('10:00'))]
    expect(decideInteraction(onDesk, events, day2('10:00'))?.revisitAt).toBe(day2('11:00') + 1)
    expect(decideInteraction(onDesk, [...events, resolved(day2('10:30'))], day2('12:00'))).toMatchObject({
      state: 'good',
      latencyMs: 3 * H + 30 * M,
      wallLatencyMs: 25 * H + 30 * M,
      pauses: 1,
      pausedMs: 6 * H,
    })
  })

  it('takes a pause and a resume at the same instant as no pause, whatever their ids', () => {
    const base = [opened(day1('10:00')), resolved(day1('17:00'))]
    const ask = { ...waitingOnCustomer(day1('11:00')), id: 'b' }
    const reply = { ...customerReplied(day1('11:00')), id: 'a' }
    const expected = { state: 'good', latencyMs: 7 * H }
    expect(decideInteraction(cpi, [...base, ask, reply], day2('00:00'))).toMatchObject(expected)
    expect(
      decideInteraction(cpi, [...base, { ...ask, id: 'a' }, { ...reply, id: 'b' }], day2('00:00')),
    ).toMatchObject(expected)
  })

  it('stops measuring a late wait again 30 days after its start', () => {
    const events = [opened(day1('10:00')), waitingOnCustomer(day1('11:00')), customerReplied(day1('12:00'))]
    expect(decideInteraction(cpi, events, day1('10:00') + 29 * 24 * H)?.revisitAt).toBe(
      day1('10:00') + 29 * 24 * H + H,
    )
    const month = decideInteraction(cpi, events, day1('10:00') + 31 * 24 * H)
    expect(month).toMatchObject({ state: 'bad', latencyMs: 31 * 24 * H - H })
    expect(month?.revisitAt).toBeUndefined()
  })

  it('is refused without its resume, naming the field', () => {
    try {
      parseCatalog([resolution({ pauses: [{ pause: { type: 'ticket.message' } }] })], 'test')
      throw new Error('accepted')
    } catch (error) {
      expect(error).toBeInstanceOf(CatalogError)
      expect((error as CatalogError).problems).toEqual([
        'test resolved_8h: pauses[0].resume: Invalid input: expected object, received undefined',
      ])
    }
  })
})
