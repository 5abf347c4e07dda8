// Business-hours calendars and pausing clocks, read plainly and independently of the engine's
// calendar code, for the ground truth of the SLA scenario (sla-scenario.ts). A calendar is turned
// into a list of working intervals (instants) over a range of days; every question about an
// interaction's clock is then interval arithmetic over that list.
//
// How a period's local wall times become instants (docs/cpi-catalog.md, business hours: "a
// period across a daylight-saving change is as long as it really is"): a period runs from the
// first instant the local clock reads its `from` (or later) to the first instant it reads its
// `to` (or later). A fall-back night's repeated hour therefore counts once per occurrence inside a
// period (Sunday 00:00–06:00 in London on 25 October 2026 is 7 hours long), and a time the clock
// skips opens at the jump. The local clock is read from Intl, minute by minute near each boundary.

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

export const slaWeekdays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const
export type SlaWeekday = (typeof slaWeekdays)[number]

export interface SlaPeriod {
  /** Local wall time `HH:MM`, included. */
  from: string
  /** Local wall time `HH:MM` (`24:00` allowed), excluded. */
  to: string
}

export interface SlaCalendar {
  name: string
  timeZone: string
  week: Partial<Record<SlaWeekday, SlaPeriod[]>>
  /** Local dates (`YYYY-MM-DD`) closed all day. */
  holidays: string[]
}

/** A half-open interval of instants [from, to), ms since the epoch. */
export type Span = readonly [number, number]

const readers = new Map<string, Intl.DateTimeFormat>()

/** What the zone's clock reads at an instant, written as ms since the epoch as if it were UTC. */
export function localReading(timeZone: string, instant: number): number {
  let format = readers.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    readers.set(timeZone, format)
  }
  const part: Record<string, number> = {}
  for (const { type, value } of format.formatToParts(instant)) part[type] = Number(value)
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = part
  return Date.UTC(year, month - 1, day, hour, minute, second)
}

/** The first instant at which the zone's clock reads `wall` or later (minute steps; offsets are whole minutes). */
export function firstInstantReading(timeZone: string, wall: number): number {
  // The true instant lies within the offset change of one transition (at most a few hours) of this guess.
  const guess = wall - (localReading(timeZone, wall) - wall)
  const first = Math.floor((guess - 4 * HOUR) / MINUTE) * MINUTE
  for (let instant = first; instant <= guess + 4 * HOUR; instant += MINUTE) {
    if (localReading(timeZone, instant) >= wall) return instant
  }
  throw new Error(`${timeZone}: the clock never reads ${new Date(wall).toISOString().slice(0, 16)} near it`)
}

const minutesOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5))

/** Sorted, disjoint spans from any spans (overlapping or touching ones joined; empty ones dropped). */
export function normalize(spans: Iterable<Span>): Span[] {
  const sorted = [...spans].filter(([from, to]) => to > from).sort((a, b) => a[0] - b[0])
  const joined: [number, number][] = []
  for (const [from, to] of sorted) {
    const last = joined.at(-1)
    if (last && from <= last[1]) last[1] = Math.max(last[1], to)
    else joined.push([from, to])
  }
  return joined
}

/**
 * The calendar's working intervals that meet [from, to): every local date from two days before
 * `from` to two days after `to`, each period of its weekday unless the date is a holiday.
 */
export function workingSpans(calendar: SlaCalendar, from: number, to: number): Span[] {
  const holidays = new Set(calendar.holidays)
  const spans: Span[] = []
  for (let date = Math.floor(from / DAY) * DAY - 2 * DAY; date <= to + 2 * DAY; date += DAY) {
    const label = new Date(date).toISOString().slice(0, 10)
    if (holidays.has(label)) continue
    const weekday = slaWeekdays[new Date(date).getUTCDay()] as SlaWeekday
    for (const period of calendar.week[weekday] ?? []) {
      const start = firstInstantReading(calendar.timeZone, date + minutesOf(period.from) * MINUTE)
      const end = firstInstantReading(calendar.timeZone, date + minutesOf(period.to) * MINUTE)
      spans.push([start, end])
    }
  }
  return clip(normalize(spans), from, to)
}

/** The parts of `spans` inside [from, to). */
export function clip(spans: readonly Span[], from: number, to: number): Span[] {
  const inside: Span[] = []
  for (const [a, b] of spans) {
    const start = Math.max(a, from)
    const end = Math.min(b, to)
    if (end > start) inside.push([start, end])
  }
  return inside
}

/** The parts of `spans` outside every hole (both sorted and disjoint). */
export function subtract(spans: readonly Span[], holes: readonly Span[]): Span[] {
  const left: Span[] = []
  for (const [a, b] of spans) {
    let start = a
    for (const [holeFrom, holeTo] of holes) {
      if (holeTo <= start || holeFrom >= b) continue
      if (holeFrom > start) left.push([start, holeFrom])
      start = Math.max(start, holeTo)
      if (start >= b) break
    }
    if (start < b) left.push([start, b])
  }
  return left
}

/** The parts of `spans` inside some span of `within` (both sorted and disjoint). */
export function intersect(spans: readonly Span[], within: readonly Span[]): Span[] {
  return normalize(within.flatMap(([from, to]) => clip(spans, from, to)))
}

/** Total length of disjoint spans. */
export const measure = (spans: readonly Span[]) => spans.reduce((sum, [from, to]) => sum + (to - from), 0)

/**
 * The instant at which `allowed` ms of the clock have run from `from` on the clock's spans
 * (sorted, disjoint): the earliest instant the running total reaches it, so time allowed that ends
 * exactly at a closing is due at the closing. Undefined when the spans run out first.
 */
export function dueOn(spans: readonly Span[], from: number, allowed: number): number | undefined {
  let remaining = allowed
  if (remaining <= 0) return from
  for (const [a, b] of clip(spans, from, Number.POSITIVE_INFINITY)) {
    if (b - a >= remaining) return a + remaining
    remaining -= b - a
  }
  return undefined
}
