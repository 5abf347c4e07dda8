import { parseAndValidate } from '@cpi/schemas'
import { describe, expect, it } from 'vitest'
import { dueOn, measure, type SlaCalendar, workingSpans } from './sla-clock.ts'
import {
  SLA_CALENDARS,
  type SlaTicketFact,
  slaEvents,
  slaOutcome,
  slaScenario,
  slaWindows,
  slaWorkingTime,
} from './sla-scenario.ts'

const M = 60_000
const H = 60 * M
const at = (iso: string) => Date.parse(iso)
const nineToFive = [{ from: '09:00', to: '17:00' }]
const berlin: SlaCalendar = {
  name: 'berlin',
  timeZone: 'Europe/Berlin',
  week: { mon: nineToFive, tue: nineToFive, wed: nineToFive, thu: nineToFive, fri: nineToFive },
  holidays: [],
}
const calendar = (name: string) => SLA_CALENDARS.find((candidate) => candidate.name === name) as SlaCalendar
const iso = (spans: readonly (readonly [number, number])[]) =>
  spans.map(([from, to]) => [new Date(from).toISOString(), new Date(to).toISOString()])

const ticket = (overrides: Partial<SlaTicketFact>): SlaTicketFact => ({
  subject: 'T-1',
  customerId: 'c-1',
  region: 'eu',
  channel: 'email',
  priority: 'normal',
  openedAt: at('2026-11-20T15:30:00Z'),
  steps: [],
  ...overrides,
})
const decideOn = (
  cal: SlaCalendar,
  asOf: string,
  regionCalendars: Record<string, string> = { eu: cal.name },
) => ({
  asOf: at(asOf),
  working: slaWorkingTime([cal], at('2026-10-01T00:00:00Z'), at(asOf)),
  regionCalendars,
})

describe('the SLA truth on hand-computed cases', () => {
  it('Friday 16:30 + 1 business hour is Monday 09:30; + 2 h is Monday 10:30, and a reply then is within, a millisecond later not', () => {
    const spans = workingSpans(berlin, at('2026-11-19T00:00:00Z'), at('2026-11-25T00:00:00Z'))
    expect(dueOn(spans, at('2026-11-20T15:30:00Z'), H)).toBe(at('2026-11-23T08:30:00Z'))
    const options = decideOn(berlin, '2026-11-24T00:00:00Z')
    const reply = (time: number) => ticket({ steps: [{ at: time, kind: 'agent_answer' }] })
    expect(slaOutcome('sla_first_reply', reply(at('2026-11-23T09:30:00Z')), options)).toMatchObject({
      state: 'good',
      latencyMs: 2 * H,
      wallLatencyMs: 2 * 24 * H + 18 * H,
      pauses: 0,
      pausedMs: null,
      deadline: at('2026-11-23T09:30:00Z'),
    })
    expect(slaOutcome('sla_first_reply', reply(at('2026-11-23T09:30:00.001Z')), options)).toMatchObject({
      state: 'bad',
      latencyMs: 2 * H + 1,
    })
    // No reply: pending up to the deadline itself, a miss just after it, its wait measured to then.
    expect(
      slaOutcome('sla_first_reply', ticket({}), { ...options, asOf: at('2026-11-23T09:30:00Z') }).state,
    ).toBe('pending')
    expect(
      slaOutcome('sla_first_reply', ticket({}), { ...options, asOf: at('2026-11-23T10:00:00Z') }),
    ).toMatchObject({
      state: 'bad',
      open: true,
      latencyMs: 2 * H + 30 * M,
      wallLatencyMs: 2 * 24 * H + 18 * H + 30 * M,
    })
  })

  it('stops the resolution clock from Friday’s question to Monday’s answer (working time only counts as paused)', () => {
    // Thursday 26 Nov 10:00 CET; asks Friday 11:00; the customer answers Monday 14:00; resolved Tuesday 12:00.
    // Running: Thu 7 h + Fri 2 h + Mon 3 h + Tue 3 h = 15 h of 16; paused: Fri 6 h + Mon 5 h.
    const fact = ticket({
      openedAt: at('2026-11-26T09:00:00Z'),
      steps: [
        { at: at('2026-11-27T10:00:00Z'), kind: 'agent_ask' },
        { at: at('2026-11-30T13:00:00Z'), kind: 'customer_reply' },
        { at: at('2026-12-01T11:00:00Z'), kind: 'resolved' },
      ],
    })
    const options = decideOn(berlin, '2026-12-01T14:00:00Z')
    expect(slaOutcome('sla_resolution', fact, options)).toMatchObject({
      state: 'good',
      latencyMs: 15 * H,
      wallLatencyMs: 5 * 24 * H + 2 * H,
      pauses: 1,
      pausedMs: 11 * H,
      deadline: at('2026-12-01T12:00:00Z'),
    })
    // Not resolved: a miss from Tuesday 13:00 CET; at 15:00 it has run 18 h.
    const open = { ...fact, steps: fact.steps.slice(0, 2) }
    expect(slaOutcome('sla_resolution', open, options)).toMatchObject({
      state: 'bad',
      open: true,
      latencyMs: 18 * H,
      wallLatencyMs: 5 * 24 * H + 5 * H,
      pauses: 1,
      pausedMs: 11 * H,
    })
    // On wall time (no desk): Friday 10:00–Monday 10:00 less 12:00 Friday to 09:00 Monday.
    const wall = ticket({
      region: 'latam',
      openedAt: at('2026-11-27T10:00:00Z'),
      steps: [
        { at: at('2026-11-27T12:00:00Z'), kind: 'agent_ask' },
        { at: at('2026-11-30T09:00:00Z'), kind: 'customer_reply' },
        { at: at('2026-11-30T10:00:00Z'), kind: 'resolved' },
      ],
    })
    expect(slaOutcome('sla_resolution', wall, options)).toMatchObject({
      state: 'good',
      latencyMs: 3 * H,
      wallLatencyMs: null,
      pauses: 1,
      pausedMs: 69 * H,
      plainWallClock: false,
    })
  })

  it('ends the wait at the pause when resolved while paused; a question never answered keeps it pending; an answer at the same instant is no pause', () => {
    const options = decideOn(berlin, '2026-12-10T00:00:00Z')
    const opened = at('2026-11-26T09:00:00Z') // Thursday 10:00 CET
    const ask = { at: at('2026-11-26T11:00:00Z'), kind: 'agent_ask' as const }
    const resolvedWhilePaused = ticket({
      openedAt: opened,
      steps: [ask, { at: at('2026-12-08T11:00:00Z'), kind: 'resolved' }],
    })
    expect(slaOutcome('sla_resolution', resolvedWhilePaused, options)).toMatchObject({
      state: 'good',
      latencyMs: 2 * H,
      pauses: 1,
      // Thu 12:00–17:00, Fri 27 Nov to Mon 7 Dec (seven working days), Tue 8 Dec 09:00–12:00.
      pausedMs: 5 * H + 7 * 8 * H + 3 * H,
    })
    expect(slaOutcome('sla_resolution', ticket({ openedAt: opened, steps: [ask] }), options)).toMatchObject({
      state: 'pending',
      latencyMs: null,
      deadline: undefined,
    })
    const cancelled = ticket({
      openedAt: opened,
      steps: [
        ask,
        { at: ask.at, kind: 'customer_reply' },
        { at: at('2026-11-26T15:00:00Z'), kind: 'resolved' },
      ],
    })
    expect(slaOutcome('sla_resolution', cancelled, options)).toMatchObject({
      state: 'good',
      latencyMs: 6 * H,
      pauses: 0,
      pausedMs: null,
    })
  })

  it('counts the nights the clocks change as long as they really are', () => {
    // London, Sunday 25 October 2026: 00:00 BST–06:00 GMT is 7 hours (the desk's evening 20:00–24:00 GMT after it).
    const london = workingSpans(
      calendar('sla_desk_london'),
      at('2026-10-24T22:00:00Z'),
      at('2026-10-25T12:00:00Z'),
    )
    expect(iso(london)).toEqual([['2026-10-24T23:00:00.000Z', '2026-10-25T06:00:00.000Z']])
    // New York, Sunday 1 November: 01:00 EDT–04:00 EST is 4 hours (01:00–02:00 happens twice).
    const newYork = workingSpans(
      calendar('sla_desk_new_york'),
      at('2026-11-01T00:00:00Z'),
      at('2026-11-01T12:00:00Z'),
    )
    expect(iso(newYork)).toEqual([['2026-11-01T05:00:00.000Z', '2026-11-01T09:00:00.000Z']])
    // Spring forward (Berlin, 29 March 2026): 01:00–05:00 is 3 hours; 02:30 does not exist, the period opens at 03:00.
    const spring: SlaCalendar = {
      name: 'spring',
      timeZone: 'Europe/Berlin',
      week: { sun: [{ from: '01:00', to: '05:00' }], sat: [{ from: '02:30', to: '04:00' }] },
      holidays: [],
    }
    const sunday = workingSpans(spring, at('2026-03-28T12:00:00Z'), at('2026-03-29T12:00:00Z'))
    expect(measure(sunday)).toBe(3 * H)
    const gap: SlaCalendar = { ...spring, week: { sun: [{ from: '02:30', to: '04:00' }] } }
    expect(iso(workingSpans(gap, at('2026-03-28T12:00:00Z'), at('2026-03-29T12:00:00Z')))).toEqual([
      ['2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z'],
    ])
    // Friday 23 October 16:30 CEST + 1 business hour: Monday 26 October 09:30 CET, 66 hours of wall time later.
    const options = decideOn(berlin, '2026-10-30T00:00:00Z')
    const fact = ticket({ openedAt: at('2026-10-23T14:30:00Z'), priority: 'high' })
    const spans = options.working.get('berlin') ?? []
    expect(dueOn(spans, fact.openedAt, H)).toBe(at('2026-10-26T08:30:00Z'))
    const answered = { ...fact, steps: [{ at: at('2026-10-26T08:00:00Z'), kind: 'agent_answer' as const }] }
    expect(slaOutcome('sla_first_reply', answered, options)).toMatchObject({
      state: 'bad', // high priority: 30 minutes, due Friday 17:00 CEST
      latencyMs: 30 * M + 0,
      wallLatencyMs: 65 * H + 30 * M,
    })
    // On the scenario's Berlin desk Monday 26 October is a holiday: due Tuesday 09:30 CET.
    const desk = slaWorkingTime(SLA_CALENDARS, at('2026-10-20T00:00:00Z'), at('2026-10-30T00:00:00Z'))
    expect(dueOn(desk.get('sla_desk_berlin') ?? [], fact.openedAt, H)).toBe(at('2026-10-27T08:30:00Z'))
  })

  it('counts good, known and pending outcomes per hour and day, whole and per segment, leaving exclusions out', () => {
    const options = decideOn(berlin, '2026-11-24T00:00:00Z')
    const good = ticket({ subject: 'A', steps: [{ at: at('2026-11-20T15:40:00Z'), kind: 'agent_answer' }] })
    const phone = ticket({ subject: 'B', channel: 'phone' })
    const late = ticket({ subject: 'C', openedAt: at('2026-11-20T16:10:00Z'), region: 'latam' })
    const rows = slaWindows([good, phone, late].map((fact) => slaOutcome('sla_first_reply', fact, options)))
    const row = (grain: string, start: string, dimension: string, value: string) =>
      rows.find(
        (candidate) =>
          candidate.grain === grain &&
          candidate.windowStart === at(start) &&
          candidate.dimension === dimension &&
          candidate.value === value,
      )
    expect(row('day', '2026-11-20T00:00:00Z', 'all', 'all')).toMatchObject({ good: 1, total: 2, pending: 0 })
    expect(row('hour', '2026-11-20T15:00:00Z', 'channel', 'email')).toMatchObject({ good: 1, total: 1 })
    expect(row('hour', '2026-11-20T16:00:00Z', 'region', 'latam')).toMatchObject({ good: 0, total: 1 })
    expect(row('hour', '2026-11-20T15:00:00Z', 'channel', 'phone')).toBeUndefined()
  })
})

describe('the SLA scenario', () => {
  const scenario = slaScenario()

  it('renders contract-valid events, the same for the same seed', () => {
    for (const event of scenario.events) {
      const result = parseAndValidate(event.text, { now: scenario.asOf })
      expect(result.ok, `${event.id}: ${JSON.stringify(result)}`).toBe(true)
    }
    expect(slaScenario().events.map((event) => event.text)).toEqual(
      scenario.events.map((event) => event.text),
    )
    expect(Math.max(...scenario.events.map((event) => event.time))).toBeLessThanOrEqual(scenario.asOf)
    expect(slaEvents(scenario.facts[0] as SlaTicketFact)[0]?.type).toBe('ticket.opened')
  })

  it('covers weekends, both clock changes, holidays, pauses of every kind and the edge of each deadline', () => {
    const { coverage } = scenario
    expect(Object.keys(coverage.perRegion).sort()).toEqual(['apac', 'eu', 'latam', 'uk', 'us'])
    expect(coverage.pausesAcrossWeekend).toBeGreaterThan(5)
    expect(coverage.pausedForGood).toBeGreaterThan(5)
    expect(coverage.cancelledPauses).toBeGreaterThan(2)
    expect(coverage.acrossClockChange).toBeGreaterThan(20)
    expect(coverage.acrossHoliday).toBeGreaterThan(20)
    expect(coverage.completedAtDeadline).toBeGreaterThan(5)
    expect(coverage.completedJustAfterDeadline).toBeGreaterThan(5)
    for (const state of ['good', 'bad', 'pending'])
      for (const cpi of ['sla_first_reply', 'sla_resolution'])
        expect(coverage.states[`${cpi} ${state}`], `${cpi} ${state}`).toBeGreaterThan(2)
  })
})
