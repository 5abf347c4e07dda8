import type { BusinessCalendar } from './calendar.ts'
import type {
  ConditionDefinition,
  CpiDefinition,
  EventMatch,
  LatencyDefinition,
  SurveyDefinition,
} from './definition.ts'

// Deciding an interaction's customer outcome: a pure function of the CPI's definition, the
// interaction's events (any order, duplicates allowed) and the watermark. Only events whose
// time is at or before the watermark count: the answer is "as of" the watermark (R6), the
// same whether the events arrived in order, late or twice (R5).

export interface InteractionEvent {
  id: string
  /** With `id`, the event's identity (CloudEvents); events without one share the empty source. */
  source?: string
  type: string
  /** Event time, ms since the epoch. */
  time: number
  data: Record<string, unknown>
}

export type OutcomeState = 'good' | 'bad' | 'pending' | 'excluded'

export interface Decision {
  state: OutcomeState
  /** For good and bad: final, or provisional while a follow-up window is open (R4). */
  status?: 'provisional' | 'final'
  /**
   * Start → completion, or start → watermark for one still open past its deadline (R2); working
   * time when the expectation runs on a business-hours calendar.
   */
  latencyMs?: number
  /** With a calendar: the same wait in wall time (`latencyMs` is its working time). */
  wallLatencyMs?: number
  /** With pauses: how many the wait had, and their length (working time on a calendar), left out of `latencyMs`. */
  pauses?: number
  pausedMs?: number
  /** Still open past its deadline: its latency keeps growing with the watermark (R2). */
  open?: true
  /** The time that places the interaction in a window: its first event (R3). */
  cohortAt: number
  segments: Record<string, string>
  /**
   * When the decision can next change without a new event (a deadline, a follow-up end, or for
   * one late on a business-hours calendar, the calendar's next opening or closing).
   */
  revisitAt?: number
}

function matches(event: InteractionEvent, match: EventMatch): boolean {
  if (event.type !== match.type) return false
  for (const [field, expected] of Object.entries(match.where)) {
    const actual = event.data[field]
    if (Array.isArray(expected) ? !expected.includes(String(actual)) : actual !== expected) return false
  }
  return true
}

function inSegment(data: Record<string, unknown>, condition: Record<string, string | string[]>): boolean {
  return Object.entries(condition).every(([field, allowed]) => {
    const value = data[field]
    return typeof value === 'string' && (Array.isArray(allowed) ? allowed.includes(value) : allowed === value)
  })
}

function segmentsOf(data: Record<string, unknown>, dimensions: readonly string[]): Record<string, string> {
  const segments: Record<string, string> = {}
  for (const dimension of dimensions) {
    const value = data[dimension]
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      segments[dimension] = String(value)
  }
  return segments
}

/** An interaction's events as decisions read them: known at a watermark, in time order, each identity once. */
export type KnownEvents = readonly InteractionEvent[] & { readonly __known: unique symbol }

/**
 * Known events in time order, each identity (source, id) once: the first seen wins. Ordered once
 * per interaction and watermark, the same list serves the decision of every CPI (`decideKnown`).
 */
export function knownEvents(events: readonly InteractionEvent[], watermark: number): KnownEvents {
  return orderKnown(events, watermark) as readonly InteractionEvent[] as KnownEvents
}

function orderKnown(events: readonly InteractionEvent[], watermark: number): InteractionEvent[] {
  const byIdentity = new Map<string, InteractionEvent>()
  for (const event of events) {
    const identity = `${event.source ?? ''}\u0000${event.id}`
    if (event.time <= watermark && !byIdentity.has(identity)) byIdentity.set(identity, event)
  }
  return [...byIdentity.values()].sort(
    (a, b) => a.time - b.time || a.id.localeCompare(b.id) || (a.source ?? '').localeCompare(b.source ?? ''),
  )
}

/** The compiled calendars each definition's expectation may name, set when its catalog is parsed. */
const boundCalendars = new WeakMap<LatencyDefinition, ReadonlyMap<string, BusinessCalendar>>()

/** Gives a definition the compiled calendars its expectation names (the catalog does, when parsed). */
export function bindCalendars(
  definition: LatencyDefinition,
  calendars: ReadonlyMap<string, BusinessCalendar>,
): void {
  boundCalendars.set(definition, calendars)
}

/** The calendar an interaction's time allowed runs on, from its start event's data; none: wall time. */
export function calendarOf(
  definition: LatencyDefinition,
  data: Record<string, unknown>,
): BusinessCalendar | undefined {
  const choice = definition.expectation.calendar
  if (choice === undefined) return undefined
  const calendars = boundCalendars.get(definition)
  if (!calendars)
    throw new Error(
      `CPI ${definition.name}: its calendars are not loaded (parse the catalog with parseCatalog)`,
    )
  let name: string | undefined
  if (typeof choice === 'string') name = choice
  else {
    const value = data[choice.field]
    const key = typeof value === 'string' || typeof value === 'number' ? String(value) : undefined
    name =
      key !== undefined && Object.hasOwn(choice.calendars, key) ? choice.calendars[key] : choice.otherwise
  }
  if (name === undefined) return undefined
  const calendar = calendars.get(name)
  if (!calendar) throw new Error(`CPI ${definition.name}: no calendar named ${name} is loaded`)
  return calendar
}

/** The time a rule or `within` allows (ms), or undefined when the deadline is a field of the start event or unset. */
function allowedOf(definition: LatencyDefinition, start: InteractionEvent): number | undefined {
  const rule = definition.expectation.rules.find((candidate) => inSegment(start.data, candidate.when))
  if (rule) return rule.within
  return definition.expectation.deadlineField ? undefined : definition.expectation.within
}

/** How often the wait of a late, unanswered interaction is measured again while its clock runs. */
const REMEASURE_MS = 3_600_000
/** After this long from its start, a late, unanswered interaction's wait is no longer measured again (it keeps the last). */
const REMEASURE_FOR_MS = 30 * 86_400_000

/**
 * When a late wait on a calendar or with pauses is measured next: hourly while the clock runs,
 * and at the calendar's next opening when it is closed (its wait does not grow meanwhile).
 */
function remeasureAt(clock: Clock, watermark: number): number | undefined {
  if (!clock.calendar || clock.calendar.isWorking(watermark)) return watermark + REMEASURE_MS
  return clock.calendar.nextChange(watermark)
}

/** The clock of one interaction: its calendar (if any) and the intervals its pauses stopped it. */
interface Clock {
  calendar: BusinessCalendar | undefined
  /** Paused intervals [from, to) after the start, in order; `to` is Infinity while still paused. */
  paused: [number, number][]
}

/** The intervals the CPI's pause events stopped the clock: from a pause to the next resume of the same pair. */
function pausedIntervals(
  definition: LatencyDefinition,
  events: readonly InteractionEvent[],
  start: InteractionEvent,
): [number, number][] {
  const intervals: [number, number][] = []
  let since: number | undefined
  let pair: (typeof definition.pauses)[number] | undefined
  // At one instant a pause comes before a resume, whatever their ids: the two cancel out
  // instead of leaving the clock paused for good.
  const pauseFirst = (event: InteractionEvent) =>
    definition.pauses.some((candidate) => matches(event, candidate.pause)) ? 0 : 1
  const ordered = [...events].sort((a, b) => a.time - b.time || pauseFirst(a) - pauseFirst(b))
  for (const event of ordered) {
    if (event.time < start.time) continue
    if (since === undefined) {
      pair = definition.pauses.find((candidate) => matches(event, candidate.pause))
      if (pair) since = event.time
    } else if (pair && matches(event, pair.resume)) {
      if (event.time > since) intervals.push([since, event.time])
      since = undefined
    }
  }
  if (since !== undefined) intervals.push([since, Number.POSITIVE_INFINITY])
  return intervals
}

function clockOf(
  definition: LatencyDefinition,
  events: readonly InteractionEvent[],
  start: InteractionEvent,
): Clock {
  const runsOnAllowance = allowedOf(definition, start) !== undefined
  return {
    calendar: runsOnAllowance ? calendarOf(definition, start.data) : undefined,
    paused: runsOnAllowance && definition.pauses.length > 0 ? pausedIntervals(definition, events, start) : [],
  }
}

/** Working time between two instants: on the calendar if there is one, else wall time. */
const workBetween = (clock: Clock, from: number, to: number) =>
  to <= from ? 0 : clock.calendar ? clock.calendar.businessDuration(from, to) : to - from

/** When `allowed` ms of working, unpaused time have passed after `from` (Infinity while paused for good). */
function dueAfter(clock: Clock, from: number, allowed: number): number {
  const add = (at: number, ms: number) => {
    if (!clock.calendar) return at + ms
    try {
      return clock.calendar.addBusinessTime(at, ms)
    } catch {
      // No such working time within ten years (a calendar closed for good): never due. The
      // catalog refuses calendars that cannot give a CPI's time at all; this keeps a far-off
      // case from failing its partition.
      return Number.POSITIVE_INFINITY
    }
  }
  let at = from
  let remaining = allowed
  for (const [pausedFrom, pausedTo] of clock.paused) {
    if (pausedTo <= at) continue
    const due = add(at, remaining)
    if (due <= pausedFrom) return due
    remaining -= workBetween(clock, at, pausedFrom)
    if (pausedTo === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY
    at = Math.max(at, pausedTo)
  }
  return add(at, remaining)
}

/** Every calendar a definition's expectation may run on (bound by its catalog). */
export function calendarsOf(definition: LatencyDefinition): BusinessCalendar[] {
  const choice = definition.expectation.calendar
  const calendars = boundCalendars.get(definition)
  if (choice === undefined || !calendars) return []
  const names = typeof choice === 'string' ? [choice] : [...Object.values(choice.calendars), choice.otherwise]
  return [...new Set(names)]
    .map((name) => (name === undefined ? undefined : calendars.get(name)))
    .filter((calendar): calendar is BusinessCalendar => calendar !== undefined)
}

export function deadlineOf(
  definition: LatencyDefinition,
  start: InteractionEvent,
  events: readonly InteractionEvent[] = [start],
): number | undefined {
  const allowed = allowedOf(definition, start)
  if (allowed !== undefined) return dueAfter(clockOf(definition, events, start), start.time, allowed)
  if (!definition.expectation.deadlineField) return undefined
  const deadline = Date.parse(String(start.data[definition.expectation.deadlineField]))
  return Number.isFinite(deadline) ? deadline : undefined
}

/**
 * The wait from the start to `until`: working time on the interaction's calendar, without its
 * paused time, with the wall time beside it (on a calendar) and the pauses (with pauses).
 */
function waited(
  definition: LatencyDefinition,
  events: readonly InteractionEvent[],
  start: InteractionEvent,
  until: number,
): Pick<Decision, 'latencyMs' | 'wallLatencyMs' | 'pauses' | 'pausedMs'> {
  const clock = clockOf(definition, events, start)
  // Wall time, as ever, for a CPI with neither (a completion stamped before its start included).
  if (!clock.calendar && clock.paused.length === 0) return { latencyMs: until - start.time }
  const within = clock.paused.filter(([from]) => from < until)
  const pausedMs = within.reduce((sum, [from, to]) => sum + workBetween(clock, from, Math.min(to, until)), 0)
  return {
    latencyMs: workBetween(clock, start.time, until) - pausedMs,
    ...(clock.calendar ? { wallLatencyMs: until - start.time } : {}),
    ...(within.length > 0 ? { pauses: within.length, pausedMs } : {}),
  }
}

function decideLatency(
  definition: LatencyDefinition,
  events: readonly InteractionEvent[],
  watermark: number,
): Decision | undefined {
  const start = events.find((event) => matches(event, definition.start))
  if (!start) return undefined
  const base = { cohortAt: start.time, segments: segmentsOf(start.data, definition.dimensions) }
  if (!inSegment(start.data, definition.population)) return { ...base, state: 'excluded' }
  const deadline = deadlineOf(definition, start, events)
  if (deadline === undefined) return { ...base, state: 'excluded' }
  const latency = (until: number) => (definition.percentiles ? waited(definition, events, start, until) : {})
  const completion = events.find((event) => definition.completion.some((match) => matches(event, match)))
  if (completion && completion.time <= deadline) {
    const full = definition.complete.every(
      (rule) => Number(completion.data[rule.completionField]) >= Number(start.data[rule.atLeastStartField]),
    )
    return { ...base, state: full ? 'good' : 'bad', status: 'final', ...latency(completion.time) }
  }
  // An event that ends the wait without the outcome (a caller hanging up): at or before the
  // deadline it takes the interaction out; after it, the wait ended there.
  const ended = events.find((event) => definition.excludeWhen.some((match) => matches(event, match)))
  if (ended && ended.time <= deadline) return { ...base, state: 'excluded' }
  if (watermark > deadline) {
    const waitedUntil = completion ? completion.time : ended ? ended.time : watermark
    const stillOpen = !completion && !ended && definition.percentiles
    const clock = stillOpen ? clockOf(definition, events, start) : undefined
    if (clock && (clock.calendar || clock.paused.length > 0)) {
      // Its wait grows in working, unpaused time only, which a reader cannot compute from the
      // watermark: measured now, and again hourly while its clock runs or at the next opening
      // while the calendar is closed (not while it is paused: the resume is an event), for at
      // most 30 days from its start.
      const pausedNow = clock.paused.at(-1)?.[1] === Number.POSITIVE_INFINITY
      const next =
        pausedNow || watermark - start.time > REMEASURE_FOR_MS ? undefined : remeasureAt(clock, watermark)
      return {
        ...base,
        state: 'bad',
        status: 'final',
        ...latency(watermark),
        ...(next === undefined ? {} : { revisitAt: next }),
      }
    }
    const open = stillOpen ? { open: true as const } : {}
    return { ...base, state: 'bad', status: 'final', ...latency(waitedUntil), ...open }
  }
  // Paused for good as of the watermark: nothing changes before the resume event comes.
  if (deadline === Number.POSITIVE_INFINITY) return { ...base, state: 'pending' }
  return { ...base, state: 'pending', revisitAt: deadline + 1 }
}

/**
 * Where an event of a condition CPI stands among those of the same instant: a failure (a
 * `failOn` event, or an anchor outside what the start offered) first, then the anchor, then an
 * `excludeOn` event, then the rest. At one instant the least favourable decides, whichever
 * arrived first, so a decision written at that instant never changes for one that comes after.
 */
function rankAtInstant(definition: ConditionDefinition, start: InteractionEvent, event: InteractionEvent) {
  if (definition.failOn.some((match) => matches(event, match))) return 0
  if (matches(event, definition.anchor)) return anchorOffered(definition, start, event) ? 1 : 0
  if (definition.excludeOn.some((match) => matches(event, match))) return 2
  return 3
}

/** Whether each `anchorIn` field of the anchor is one of the values the start offered. */
const anchorOffered = (definition: ConditionDefinition, start: InteractionEvent, anchor: InteractionEvent) =>
  definition.anchorIn.every((rule) => isOneOf(anchor.data[rule.anchorField], start.data[rule.startField]))

function decideCondition(
  definition: ConditionDefinition,
  known: readonly InteractionEvent[],
  watermark: number,
): Decision | undefined {
  const start = known.find((event) => matches(event, definition.start))
  if (!start) return undefined
  const base = { cohortAt: start.time, segments: segmentsOf(start.data, definition.dimensions) }
  if (!inSegment(start.data, definition.population)) return { ...base, state: 'excluded' }
  // In time order; at one instant, failures before the anchor before exclusions (a stable sort:
  // otherwise by id and source as they came).
  const rank = new Map(known.map((event) => [event, rankAtInstant(definition, start, event)]))
  const events = [...known].sort(
    (a, b) => a.time - b.time || (rank.get(a) as number) - (rank.get(b) as number),
  )
  const anchorDeadline =
    definition.anchorWithin === undefined ? undefined : start.time + definition.anchorWithin
  let anchorAt: number | undefined
  let failedAt: number | undefined
  let excludedAt: number | undefined
  for (const event of events) {
    if (anchorAt === undefined && anchorDeadline !== undefined && event.time > anchorDeadline) break
    // The follow-up window runs from the anchor's instant to followUp after it, both included:
    // with none (0s) it is that instant alone, where a failure still wins.
    if (anchorAt !== undefined && event.time > anchorAt + definition.followUp) break
    if (definition.failOn.some((match) => matches(event, match))) {
      failedAt = event.time
      break
    }
    if (anchorAt === undefined && definition.excludeOn.some((match) => matches(event, match))) {
      excludedAt = event.time
      break
    }
    if (anchorAt === undefined && matches(event, definition.anchor)) {
      // An anchor outside what the start offered (paid with a method the checkout did not offer)
      // fails the interaction there.
      if (!anchorOffered(definition, start, event)) {
        failedAt = event.time
        break
      }
      anchorAt = event.time
    }
  }
  if (failedAt !== undefined) return { ...base, state: 'bad', status: 'final' }
  if (excludedAt !== undefined)
    // Left out for good once no failure or anchor can come at its instant any more.
    return watermark > excludedAt
      ? { ...base, state: 'excluded' }
      : { ...base, state: 'pending', revisitAt: excludedAt + 1 }
  if (anchorAt !== undefined) {
    const closes = anchorAt + definition.followUp
    return watermark > closes
      ? { ...base, state: 'good', status: 'final' }
      : { ...base, state: 'good', status: 'provisional', revisitAt: closes + 1 }
  }
  if (anchorDeadline !== undefined && watermark > anchorDeadline)
    return { ...base, state: 'bad', status: 'final' }
  let excludeAt: number | undefined
  if (definition.excludeWithoutAnchorAfter) {
    const deadline = Date.parse(String(start.data[definition.excludeWithoutAnchorAfter.deadlineField]))
    if (Number.isFinite(deadline)) excludeAt = deadline + definition.excludeWithoutAnchorAfter.plus
  }
  if (excludeAt !== undefined && watermark > excludeAt) return { ...base, state: 'excluded' }
  const revisits = [anchorDeadline, excludeAt].filter((time): time is number => time !== undefined)
  return {
    ...base,
    state: 'pending',
    ...(revisits.length > 0 ? { revisitAt: Math.min(...revisits) + 1 } : {}),
  }
}

/** Whether `value` is one of the strings of `list` (a start field holding a list). */
function isOneOf(value: unknown, list: unknown): boolean {
  return typeof value === 'string' && Array.isArray(list) && list.includes(value)
}

/**
 * The outcome of one survey response, or of any event judged on its own (a value credit): each is
 * its own "interaction". Good when its score reaches the bar: `goodAtLeast`, or the event's own
 * `goodAtLeastField` (a credit against what was promised); without a score or a bar, left out.
 */
export function decideResponse(
  definition: SurveyDefinition,
  response: InteractionEvent,
  watermark: number,
): Decision {
  const base = { cohortAt: response.time, segments: segmentsOf(response.data, definition.dimensions) }
  const score = response.data[definition.scoreField]
  const bar =
    definition.goodAtLeastField === undefined
      ? definition.goodAtLeast
      : response.data[definition.goodAtLeastField]
  if (typeof score !== 'number' || typeof bar !== 'number') return { ...base, state: 'excluded' }
  if (response.time > watermark) return { ...base, state: 'pending', revisitAt: response.time }
  return { ...base, state: score >= bar ? 'good' : 'bad', status: 'final' }
}

/**
 * The outcome of one interaction (the events of one subject) for a latency or condition CPI,
 * or undefined when the interaction has no start event known by the watermark.
 */
export function decideInteraction(
  definition: Exclude<CpiDefinition, SurveyDefinition>,
  events: readonly InteractionEvent[],
  watermark: number,
): Decision | undefined {
  return decideKnown(definition, knownEvents(events, watermark), watermark)
}

/** `decideInteraction` from the interaction's events already ordered (`knownEvents`, same watermark). */
export function decideKnown(
  definition: Exclude<CpiDefinition, SurveyDefinition>,
  known: KnownEvents,
  watermark: number,
): Decision | undefined {
  return definition.shape === 'latency'
    ? decideLatency(definition, known, watermark)
    : decideCondition(definition, known, watermark)
}
