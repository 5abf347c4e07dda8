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

/** Known events in time order, each identity (source, id) once: the first seen wins. */
function known(events: readonly InteractionEvent[], watermark: number): InteractionEvent[] {
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

export function deadlineOf(definition: LatencyDefinition, start: InteractionEvent): number | undefined {
  const allowed = allowedOf(definition, start)
  if (allowed !== undefined) {
    const calendar = calendarOf(definition, start.data)
    return calendar ? calendar.addBusinessTime(start.time, allowed) : start.time + allowed
  }
  if (!definition.expectation.deadlineField) return undefined
  const deadline = Date.parse(String(start.data[definition.expectation.deadlineField]))
  return Number.isFinite(deadline) ? deadline : undefined
}

/** The wait from the start to `until`: working time on the interaction's calendar, with the wall time beside it. */
function waited(
  definition: LatencyDefinition,
  start: InteractionEvent,
  until: number,
): { latencyMs: number; wallLatencyMs?: number } {
  const calendar = allowedOf(definition, start) === undefined ? undefined : calendarOf(definition, start.data)
  if (!calendar) return { latencyMs: until - start.time }
  return { latencyMs: calendar.businessDuration(start.time, until), wallLatencyMs: until - start.time }
}

function decideLatency(
  definition: LatencyDefinition,
  events: InteractionEvent[],
  watermark: number,
): Decision | undefined {
  const start = events.find((event) => matches(event, definition.start))
  if (!start) return undefined
  const base = { cohortAt: start.time, segments: segmentsOf(start.data, definition.dimensions) }
  if (!inSegment(start.data, definition.population)) return { ...base, state: 'excluded' }
  const deadline = deadlineOf(definition, start)
  if (deadline === undefined) return { ...base, state: 'excluded' }
  const latency = (until: number) => (definition.percentiles ? waited(definition, start, until) : {})
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
    const calendar =
      stillOpen && allowedOf(definition, start) !== undefined ? calendarOf(definition, start.data) : undefined
    if (calendar) {
      // Its wait grows in working time only, which a reader cannot compute from the watermark:
      // measured now, and again when the calendar next opens or closes.
      const next = calendar.nextChange(watermark)
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
  return { ...base, state: 'pending', revisitAt: deadline + 1 }
}

function decideCondition(
  definition: ConditionDefinition,
  events: InteractionEvent[],
  watermark: number,
): Decision | undefined {
  const start = events.find((event) => matches(event, definition.start))
  if (!start) return undefined
  const base = { cohortAt: start.time, segments: segmentsOf(start.data, definition.dimensions) }
  if (!inSegment(start.data, definition.population)) return { ...base, state: 'excluded' }
  const anchorDeadline =
    definition.anchorWithin === undefined ? undefined : start.time + definition.anchorWithin
  let anchorAt: number | undefined
  let failedAt: number | undefined
  for (const event of events) {
    if (anchorAt === undefined && anchorDeadline !== undefined && event.time > anchorDeadline) break
    if (anchorAt !== undefined && event.time > anchorAt + definition.followUp) break
    if (definition.failOn.some((match) => matches(event, match))) {
      failedAt = event.time
      break
    }
    if (anchorAt === undefined && matches(event, definition.anchor)) anchorAt = event.time
  }
  if (failedAt !== undefined) return { ...base, state: 'bad', status: 'final' }
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

/** The outcome of one survey response (each response is its own "interaction"). */
export function decideResponse(
  definition: SurveyDefinition,
  response: InteractionEvent,
  watermark: number,
): Decision {
  const base = { cohortAt: response.time, segments: segmentsOf(response.data, definition.dimensions) }
  const score = response.data[definition.scoreField]
  if (typeof score !== 'number') return { ...base, state: 'excluded' }
  if (response.time > watermark) return { ...base, state: 'pending', revisitAt: response.time }
  return { ...base, state: score >= definition.goodAtLeast ? 'good' : 'bad', status: 'final' }
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
  const ordered = known(events, watermark)
  return definition.shape === 'latency'
    ? decideLatency(definition, ordered, watermark)
    : decideCondition(definition, ordered, watermark)
}
