import type { SimulatedEvent } from './generate.ts'
import { Random } from './random.ts'
import {
  clip,
  dueOn,
  intersect,
  measure,
  normalize,
  type SlaCalendar,
  type Span,
  subtract,
  workingSpans,
} from './sla-clock.ts'

// Support tickets on business-hours calendars with pausing clocks, and their ground truth.
//
// The scenario draws tickets over twelve days (22 October – 3 November 2026: two weekends, the
// night Europe's clocks go back, the night America's do, a holiday on three of the four desks),
// in five regions: four on desks of their own (Berlin, New York, London, Tokyo; several working
// periods a day, weekend hours on two of them, night hours across both clock changes) and one on
// wall time. Agents reply or ask the customer something (the resolution clock stops until the
// customer answers: some answers come after a weekend, some never, some at the same instant);
// most tickets are resolved. It renders the facts as contract-valid events and computes, from the
// facts alone and with its own interval arithmetic (sla-clock.ts), what two CPIs must say as of
// the scenario's end: each ticket's state, working-time and wall-time wait, pauses and paused
// time, and good/total/pending per hour and day × segment. Reading of docs/cpi-catalog.md
// (business hours, pausing clocks), stated here so a disagreement can be judged:
// - The deadline is the first instant the clock (working time, pauses left out) has run the time
//   allowed; a completion at the deadline is within. Without a completion the ticket is a miss
//   once the scenario's end is strictly after the deadline, else pending.
// - The clock stops from a pause event to the next resume event (a second pause while paused and a
//   resume while running change nothing; a pause and a resume at the same instant cancel out and
//   are no pause). A completion while paused ends the wait at the pause.
// - The wait runs to the completion, or to the scenario's end for a miss still open. The paused
//   time is the working time inside pauses before the wait's end; the pauses counted are those
//   that began before it.
// - A miss still open on a calendar or with pauses is measured by the processor, not when read:
//   when decided, then hourly while its clock can run (the desk open, or on wall time), at the
//   desk's next opening while it is closed, never while paused, for 30 days from the opening. Its
//   wait is therefore the wait as of its last measurement (`remeasureAt` gives the next one).

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const REMEASURE_FOR_MS = 30 * DAY

export const SLA_FROM = Date.parse('2026-10-22T00:00:00Z')
/** The scenario's end: its last event time, and the "as of" of the truth. */
export const SLA_AS_OF = Date.parse('2026-11-03T15:00:00Z')

const weekdays = (periods: { from: string; to: string }[]) => ({
  mon: periods,
  tue: periods,
  wed: periods,
  thu: periods,
  fri: periods,
})

export const SLA_CALENDARS: readonly SlaCalendar[] = [
  {
    name: 'sla_desk_berlin',
    timeZone: 'Europe/Berlin',
    week: {
      ...weekdays([
        { from: '09:00', to: '12:30' },
        { from: '13:30', to: '17:00' },
      ]),
      fri: [{ from: '09:00', to: '17:00' }],
    },
    holidays: ['2026-10-26'],
  },
  {
    name: 'sla_desk_new_york',
    timeZone: 'America/New_York',
    week: {
      ...weekdays([
        { from: '08:00', to: '12:00' },
        { from: '13:00', to: '18:00' },
      ]),
      sat: [{ from: '10:00', to: '14:00' }],
      // On-call at night: on 1 November 2026 01:00–02:00 happens twice, the period lasts 4 hours.
      sun: [{ from: '01:00', to: '04:00' }],
    },
    holidays: ['2026-10-30'],
  },
  {
    name: 'sla_desk_london',
    timeZone: 'Europe/London',
    week: {
      ...weekdays([{ from: '07:00', to: '19:00' }]),
      sat: [{ from: '09:00', to: '13:00' }],
      // 25 October 2026: the clocks go back at 02:00 BST, 00:00–06:00 lasts 7 hours.
      sun: [
        { from: '00:00', to: '06:00' },
        { from: '20:00', to: '24:00' },
      ],
    },
    holidays: [],
  },
  {
    name: 'sla_desk_tokyo',
    timeZone: 'Asia/Tokyo',
    week: weekdays([
      { from: '09:00', to: '12:00' },
      { from: '13:00', to: '18:00' },
    ]),
    holidays: ['2026-11-03'],
  },
]

/** Region → desk; a region not listed (latam) runs on wall time. */
export const SLA_REGION_CALENDARS: Readonly<Record<string, string>> = {
  eu: 'sla_desk_berlin',
  us: 'sla_desk_new_york',
  uk: 'sla_desk_london',
  apac: 'sla_desk_tokyo',
}

export type SlaCpiName = 'sla_first_reply' | 'sla_resolution'
export const SLA_CPIS: readonly SlaCpiName[] = ['sla_first_reply', 'sla_resolution']

export type SlaStepKind = 'bot_ack' | 'agent_answer' | 'agent_ask' | 'customer_reply' | 'resolved'

export interface SlaStep {
  at: number
  kind: SlaStepKind
}

/** What happened to one ticket, in plain data; steps in time order, none after the scenario's end. */
export interface SlaTicketFact {
  subject: string
  customerId: string
  region: string
  channel: 'email' | 'chat' | 'web' | 'phone'
  priority: 'normal' | 'high'
  openedAt: number
  steps: SlaStep[]
}

/** How each CPI reads the facts (the same rules the catalog below declares as data). */
interface SlaRule {
  withinMs: number
  highWithinMs: number
  counts: (fact: SlaTicketFact) => boolean
  completes: (kind: SlaStepKind) => boolean
  pauses: boolean
}

const RULES: Record<SlaCpiName, SlaRule> = {
  sla_first_reply: {
    withinMs: 2 * HOUR,
    highWithinMs: 30 * MINUTE,
    counts: (fact) => fact.channel !== 'phone',
    completes: (kind) => kind === 'agent_answer' || kind === 'agent_ask',
    pauses: false,
  },
  sla_resolution: {
    withinMs: 16 * HOUR,
    highWithinMs: 6 * HOUR,
    counts: () => true,
    completes: (kind) => kind === 'resolved',
    pauses: true,
  },
}

const calendarChoice = { field: 'region', calendars: SLA_REGION_CALENDARS }
const common = (name: SlaCpiName) => ({
  name,
  owner: 'support',
  version: 1,
  shape: 'latency',
  start: { type: 'ticket.opened' },
  dimensions: ['region', 'channel'],
})

/** The catalog file the processor is given: the four calendars and the two CPIs. */
export function slaCatalog() {
  return {
    calendars: SLA_CALENDARS,
    cpis: [
      {
        ...common('sla_first_reply'),
        displayName: 'First reply within 2 business hours',
        description: 'An agent replies within two hours of the desk’s working time (30 minutes when urgent).',
        population: { channel: ['email', 'chat', 'web'] },
        completion: [{ type: 'ticket.message', where: { direction: 'outbound', author: 'agent' } }],
        expectation: {
          within: '2h',
          rules: [{ when: { priority: 'high' }, within: '30m' }],
          calendar: calendarChoice,
        },
      },
      {
        ...common('sla_resolution'),
        displayName: 'Resolved within 16 business hours',
        description:
          'Resolved within 16 working hours (6 when urgent); waiting on the customer does not count.',
        completion: [{ type: 'ticket.resolved' }],
        expectation: {
          within: '16h',
          rules: [{ when: { priority: 'high' }, within: '6h' }],
          calendar: calendarChoice,
        },
        pauses: [
          {
            pause: {
              type: 'ticket.message',
              where: { direction: 'outbound', status: 'waiting_on_customer' },
            },
            resume: { type: 'ticket.message', where: { direction: 'inbound' } },
          },
        ],
      },
    ],
  }
}

/**
 * One ticket's outcome for one CPI as of the scenario's end, in the outcome table's terms: waits
 * are null unless good or bad, the wall-time wait is null off a calendar, paused time is null
 * without pauses.
 */
export interface SlaOutcome {
  cpi: SlaCpiName
  subject: string
  cohortAt: number
  state: 'good' | 'bad' | 'pending' | 'excluded'
  /** Working (or wall) time the clock ran, from the opening to the completion or the scenario's end. */
  latencyMs: number | null
  wallLatencyMs: number | null
  pauses: number
  pausedMs: number | null
  /** A miss with no completion yet: its wait is measured up to the scenario's end. */
  open: boolean
  /** On neither a calendar nor a pause: the wait of an open miss is wall time anyone can compute from the watermark. */
  plainWallClock: boolean
  /** When the time allowed runs out, if by the scenario's end; undefined when later or never (paused for good). */
  deadline: number | undefined
  /** For an open miss the processor measures: when it is measured next after `asOf` (none while paused). */
  remeasureAt: number | undefined
  calendar: string | undefined
  segments: { region: string; channel: string }
}

/** Each calendar's working intervals over a range (computed once, reused for every ticket). */
export type SlaWorkingTime = ReadonlyMap<string, readonly Span[]>

export function slaWorkingTime(calendars: readonly SlaCalendar[], from: number, to: number): SlaWorkingTime {
  return new Map(calendars.map((calendar) => [calendar.name, workingSpans(calendar, from, to)]))
}

/** The intervals the ticket's clock stood still: from an ask to the customer's next message. */
export function pausedSpans(fact: SlaTicketFact): Span[] {
  // At one instant an ask comes before a reply: the two cancel out.
  const order = (kind: SlaStepKind) => (kind === 'agent_ask' ? 0 : kind === 'customer_reply' ? 1 : 2)
  const steps = [...fact.steps].sort((a, b) => a.at - b.at || order(a.kind) - order(b.kind))
  const spans: Span[] = []
  let since: number | undefined
  for (const step of steps) {
    if (step.at < fact.openedAt) continue
    if (since === undefined && step.kind === 'agent_ask') since = step.at
    else if (since !== undefined && step.kind === 'customer_reply') {
      if (step.at > since) spans.push([since, step.at])
      since = undefined
    }
  }
  if (since !== undefined) spans.push([since, Number.POSITIVE_INFINITY])
  return spans
}

export interface SlaDecideOptions {
  asOf: number
  working: SlaWorkingTime
  regionCalendars?: Readonly<Record<string, string>>
}

/** One ticket's outcome for one CPI as of `asOf`, from the facts (steps after `asOf` are not known yet). */
export function slaOutcome(cpi: SlaCpiName, fact: SlaTicketFact, options: SlaDecideOptions): SlaOutcome {
  const { asOf, working } = options
  const rule = RULES[cpi]
  const calendar = (options.regionCalendars ?? SLA_REGION_CALENDARS)[fact.region]
  const base = {
    cpi,
    subject: fact.subject,
    cohortAt: fact.openedAt,
    calendar,
    segments: { region: fact.region, channel: fact.channel },
  }
  const none = {
    latencyMs: null,
    wallLatencyMs: null,
    pauses: 0,
    pausedMs: null,
    open: false,
    remeasureAt: undefined,
  }
  if (!rule.counts(fact))
    return { ...base, ...none, state: 'excluded', deadline: undefined, plainWallClock: false }
  const known = { ...fact, steps: fact.steps.filter((step) => step.at <= asOf) }
  const paused = rule.pauses ? pausedSpans(known) : []
  const calendarSpans = calendar === undefined ? undefined : working.get(calendar)
  if (calendar !== undefined && !calendarSpans) throw new Error(`no working time for calendar ${calendar}`)
  // The clock: working time (or all time) from the opening to the scenario's end, pauses left out.
  const open = clip(calendarSpans ?? [[fact.openedAt, asOf]], fact.openedAt, asOf)
  const running = subtract(open, normalize(paused))
  const allowed = fact.priority === 'high' ? rule.highWithinMs : rule.withinMs
  const deadline = dueOn(running, fact.openedAt, allowed)
  const completion = known.steps.find((step) => rule.completes(step.kind))
  const plainWallClock = calendar === undefined && paused.length === 0
  let state: SlaOutcome['state']
  let until: number
  if (completion) {
    state = deadline === undefined || completion.at <= deadline ? 'good' : 'bad'
    until = completion.at
  } else if (deadline !== undefined && asOf > deadline) {
    state = 'bad'
    until = asOf
  } else return { ...base, ...none, state: 'pending', deadline, plainWallClock }
  const pausedBefore = paused.filter(([from]) => from < until)
  const pausedMs = measure(intersect(clip(open, fact.openedAt, until), normalize(pausedBefore)))
  return {
    ...base,
    state,
    latencyMs: measure(clip(running, fact.openedAt, until)),
    wallLatencyMs: calendar === undefined ? null : until - fact.openedAt,
    pauses: pausedBefore.length,
    pausedMs: pausedBefore.length > 0 ? pausedMs : null,
    open: !completion,
    deadline,
    plainWallClock,
    remeasureAt: completion || plainWallClock ? undefined : remeasureAt(fact, paused, calendarSpans, asOf),
  }
}

/** The next measurement of an open miss measured at `at`: see the reading above. */
function remeasureAt(
  fact: SlaTicketFact,
  paused: readonly Span[],
  calendarSpans: readonly Span[] | undefined,
  at: number,
): number | undefined {
  if (paused.some(([from, to]) => from <= at && at < to)) return undefined
  if (at - fact.openedAt > REMEASURE_FOR_MS) return undefined
  if (!calendarSpans || calendarSpans.some(([from, to]) => from <= at && at < to)) return at + HOUR
  return calendarSpans.find(([from]) => from > at)?.[0]
}

/** Good, known (good + bad) and pending outcomes of one CPI in one window and segment value. */
export interface SlaWindowTruth {
  cpi: SlaCpiName
  grain: 'hour' | 'day'
  windowStart: number
  /** `all` for the whole CPI, else a segment field. */
  dimension: string
  value: string
  good: number
  total: number
  pending: number
}

const windowKey = (row: Omit<SlaWindowTruth, 'good' | 'total' | 'pending'>) =>
  `${row.cpi} ${row.grain} ${new Date(row.windowStart).toISOString()} ${row.dimension}=${row.value}`

/** Per CPI, hour and day (UTC, by the ticket's opening) and segment: the counts of the outcomes. */
export function slaWindows(outcomes: readonly SlaOutcome[]): SlaWindowTruth[] {
  const rows = new Map<string, SlaWindowTruth>()
  for (const outcome of outcomes) {
    if (outcome.state === 'excluded') continue
    for (const [grain, size] of [
      ['hour', HOUR],
      ['day', DAY],
    ] as const) {
      const windowStart = Math.floor(outcome.cohortAt / size) * size
      const segments = [['all', 'all'], ...Object.entries(outcome.segments)]
      for (const [dimension = '', value = ''] of segments) {
        const key = windowKey({ cpi: outcome.cpi, grain, windowStart, dimension, value })
        const row = rows.get(key) ?? {
          ...{ cpi: outcome.cpi, grain, windowStart, dimension, value },
          ...{ good: 0, total: 0, pending: 0 },
        }
        if (outcome.state === 'good') row.good++
        if (outcome.state !== 'pending') row.total++
        else row.pending++
        rows.set(key, row)
      }
    }
  }
  return [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, row]) => row)
}

export { windowKey as slaWindowKey }

// ---------------------------------------------------------------------------------------------
// Drawing the tickets

const REGIONS = { eu: 0.3, us: 0.25, uk: 0.15, apac: 0.15, latam: 0.15 }
const CHANNELS = { email: 0.4, chat: 0.25, web: 0.2, phone: 0.15 }

/** A wall-clock delay drawn log-normally, in whole seconds. */
const delay = (random: Random, median: number, sigma: number) =>
  Math.max(SECOND, Math.round(random.logNormal(median, sigma) / SECOND) * SECOND)

/** Ask, wait for the customer (some never answer, a few at the same instant), maybe ask again. */
function conversation(random: Random, steps: SlaStep[], firstAt: number): number {
  let at = firstAt
  for (let round = 0; round < 3; round++) {
    if (random.chance(0.1)) steps.push({ at: at + delay(random, 3 * HOUR, 0.6), kind: 'agent_ask' })
    if (random.chance(0.12)) return at
    at = random.chance(0.04) ? at : at + delay(random, 18 * HOUR, 1)
    steps.push({ at, kind: 'customer_reply' })
    if (!random.chance(0.3)) return at
    at += delay(random, 2 * HOUR, 1)
    steps.push({ at, kind: 'agent_ask' })
  }
  return at
}

function drawTicket(random: Random, index: number, from: number, to: number): SlaTicketFact {
  const openedAt = from + Math.floor(random.next() * ((to - from) / SECOND)) * SECOND
  const steps: SlaStep[] = []
  if (random.chance(0.5)) steps.push({ at: openedAt + delay(random, 40 * SECOND, 0.5), kind: 'bot_ack' })
  let last = openedAt
  if (random.chance(0.9)) {
    const first = openedAt + delay(random, 3 * HOUR, 1.3)
    const ask = random.chance(0.45)
    steps.push({ at: first, kind: ask ? 'agent_ask' : 'agent_answer' })
    last = ask ? conversation(random, steps, first) : first
  }
  // A customer chasing: a resume while the clock runs changes nothing; inside a pause it ends it.
  if (random.chance(0.15)) steps.push({ at: openedAt + delay(random, 6 * HOUR, 1), kind: 'customer_reply' })
  const resolvedAt = last + delay(random, 5 * HOUR, 1.2)
  if (random.chance(0.85) && resolvedAt > openedAt) steps.push({ at: resolvedAt, kind: 'resolved' })
  return {
    subject: `SLA-${String(index).padStart(4, '0')}`,
    customerId: `c-sla-${index % 97}`,
    region: random.weighted(REGIONS),
    channel: random.weighted(CHANNELS),
    priority: random.chance(0.2) ? 'high' : 'normal',
    openedAt,
    steps: steps.sort((a, b) => a.at - b.at),
  }
}

/** Moves the ticket's completion for `cpi` to its deadline, or a millisecond after it (the edge of "within"). */
function onTheEdge(
  random: Random,
  cpi: SlaCpiName,
  fact: SlaTicketFact,
  options: SlaDecideOptions,
): SlaTicketFact {
  const completes = RULES[cpi].completes
  const firstCompletion = fact.steps.findIndex((step) => completes(step.kind))
  const without = { ...fact, steps: fact.steps.filter((step) => !completes(step.kind)) }
  const { deadline } = slaOutcome(cpi, without, options)
  if (deadline === undefined || deadline + 1 > options.asOf) return fact
  const kind =
    firstCompletion >= 0
      ? (fact.steps[firstCompletion] as SlaStep).kind
      : completes('agent_answer')
        ? 'agent_answer'
        : 'resolved'
  const at = deadline + (random.chance(0.5) ? 0 : 1)
  const steps = [...without.steps, { at, kind }].sort((a, b) => a.at - b.at)
  return { ...fact, steps }
}

// ---------------------------------------------------------------------------------------------
// Rendering the events

const SOURCE = '/support/desk'

function messageData(kind: SlaStepKind): Record<string, unknown> {
  switch (kind) {
    case 'bot_ack':
      return { direction: 'outbound', author: 'bot' }
    case 'agent_answer':
      return { direction: 'outbound', author: 'agent' }
    case 'agent_ask':
      return { direction: 'outbound', author: 'agent', status: 'waiting_on_customer' }
    default:
      return { direction: 'inbound', author: 'customer' }
  }
}

function rendered(id: string, type: string, subject: string, time: number, data: Record<string, unknown>) {
  const text = JSON.stringify({
    specversion: '1.0',
    id,
    source: SOURCE,
    type,
    time: new Date(time).toISOString(),
    subject,
    data,
  })
  return { id, type, subject, time, arrival: time, key: subject, text }
}

/** A ticket's events: the opening, then one event per step (ids numbered in time order). */
export function slaEvents(fact: SlaTicketFact): SimulatedEvent[] {
  const opened = rendered(`${fact.subject}-opened`, 'ticket.opened', fact.subject, fact.openedAt, {
    customerId: fact.customerId,
    channel: fact.channel,
    region: fact.region,
    priority: fact.priority,
    category: 'account',
  })
  return [
    opened,
    ...fact.steps.map((step, index) => {
      const id = `${fact.subject}-${String(index + 1).padStart(2, '0')}-${step.kind}`
      return step.kind === 'resolved'
        ? rendered(id, 'ticket.resolved', fact.subject, step.at, {})
        : rendered(id, 'ticket.message', fact.subject, step.at, messageData(step.kind))
    }),
  ]
}

/**
 * An event no CPI counts (a message on a subject never opened) at `time`: sent to every partition
 * at the scenario's end, it puts each partition's event-time clock there.
 */
export function slaClockEvent(name: string, time: number): SimulatedEvent {
  return rendered(`SLA-CLOCK-${name}`, 'ticket.message', `SLA-CLOCK-${name}`, time, {
    direction: 'inbound',
    author: 'customer',
  })
}

// ---------------------------------------------------------------------------------------------
// The scenario

export interface SlaCoverage {
  tickets: number
  perRegion: Record<string, number>
  /** Resolution pauses that began before a weekend day and ended after it. */
  pausesAcrossWeekend: number
  pausedForGood: number
  cancelledPauses: number
  /** Tickets whose wait spans a clock change (25 October in Europe, 1 November in America). */
  acrossClockChange: number
  /** Tickets opened on or waiting across a desk's holiday. */
  acrossHoliday: number
  completedAtDeadline: number
  completedJustAfterDeadline: number
  states: Record<string, number>
}

export interface SlaScenario {
  from: number
  asOf: number
  /** Each desk's working intervals over the scenario (for outcomes as of other instants). */
  working: SlaWorkingTime
  facts: SlaTicketFact[]
  events: SimulatedEvent[]
  outcomes: SlaOutcome[]
  windows: SlaWindowTruth[]
  coverage: SlaCoverage
}

export function slaScenario(options: { seed?: number; tickets?: number } = {}): SlaScenario {
  const seed = options.seed ?? 7
  const count = options.tickets ?? 600
  const random = Random.derive(seed, 'sla-scenario')
  const asOf = SLA_AS_OF
  const working = slaWorkingTime(SLA_CALENDARS, SLA_FROM - DAY, asOf + DAY)
  const decide = { asOf, working }
  const facts: SlaTicketFact[] = []
  for (let index = 1; index <= count; index++) {
    let fact = drawTicket(random, index, SLA_FROM, asOf - HOUR)
    if (random.chance(0.08)) fact = onTheEdge(random, random.pick(SLA_CPIS), fact, decide)
    facts.push({ ...fact, steps: fact.steps.filter((step) => step.at <= asOf) })
  }
  const outcomes = SLA_CPIS.flatMap((cpi) => facts.map((fact) => slaOutcome(cpi, fact, decide)))
  return {
    from: SLA_FROM,
    asOf,
    working,
    facts,
    events: facts.flatMap(slaEvents),
    outcomes,
    windows: slaWindows(outcomes),
    coverage: coverageOf(facts, outcomes),
  }
}

const CLOCK_CHANGES = [Date.parse('2026-10-25T01:00:00Z'), Date.parse('2026-11-01T06:00:00Z')]

function weekendBetween(from: number, to: number): boolean {
  for (let day = Math.floor(from / DAY) * DAY + DAY; day < to; day += DAY) {
    const weekday = new Date(day).getUTCDay()
    if ((weekday === 0 || weekday === 6) && day + DAY <= to) return true
  }
  return false
}

function coverageOf(facts: readonly SlaTicketFact[], outcomes: readonly SlaOutcome[]): SlaCoverage {
  const holidays = SLA_CALENDARS.flatMap((calendar) =>
    calendar.holidays.map((date) => [calendar.name, Date.parse(`${date}T00:00:00Z`)] as const),
  )
  const count = (predicate: (outcome: SlaOutcome) => boolean) => outcomes.filter(predicate).length
  const waitEnd = (outcome: SlaOutcome) => outcome.cohortAt + (outcome.wallLatencyMs ?? 0)
  const pauses = facts.flatMap(pausedSpans)
  const perRegion: Record<string, number> = {}
  for (const fact of facts) perRegion[fact.region] = (perRegion[fact.region] ?? 0) + 1
  const states: Record<string, number> = {}
  for (const outcome of outcomes) {
    const key = `${outcome.cpi} ${outcome.state}`
    states[key] = (states[key] ?? 0) + 1
  }
  const completedAt = (outcome: SlaOutcome, offset: number) => {
    const fact = facts.find((candidate) => candidate.subject === outcome.subject)
    const completes = RULES[outcome.cpi].completes
    const completion = fact?.steps.find((step) => completes(step.kind))
    return outcome.deadline !== undefined && completion?.at === outcome.deadline + offset
  }
  return {
    tickets: facts.length,
    perRegion,
    pausesAcrossWeekend: pauses.filter(([from, to]) => Number.isFinite(to) && weekendBetween(from, to))
      .length,
    pausedForGood: pauses.filter(([, to]) => !Number.isFinite(to)).length,
    cancelledPauses: facts.filter((fact) =>
      fact.steps.some(
        (step, index) =>
          step.kind === 'agent_ask' &&
          fact.steps[index + 1]?.kind === 'customer_reply' &&
          fact.steps[index + 1]?.at === step.at,
      ),
    ).length,
    acrossClockChange: count(
      (outcome) =>
        outcome.calendar !== undefined &&
        CLOCK_CHANGES.some((change) => outcome.cohortAt < change && waitEnd(outcome) > change),
    ),
    acrossHoliday: count((outcome) =>
      holidays.some(
        ([name, day]) => outcome.calendar === name && outcome.cohortAt < day + DAY && waitEnd(outcome) > day,
      ),
    ),
    completedAtDeadline: count((outcome) => completedAt(outcome, 0)),
    completedJustAfterDeadline: count((outcome) => completedAt(outcome, 1)),
    states,
  }
}
