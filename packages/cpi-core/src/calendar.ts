import { formatPath } from '@cpi/schemas'
import { z } from 'zod'

// Business-hours calendars for SLA clocks: Friday 16:30 plus one business hour is Monday 09:30.
// A calendar is data (a time zone, weekly opening periods in local wall time, holidays as local
// dates); compileCalendar turns it into pure functions over instants (ms since the epoch).
// Working time is real elapsed time inside the local-time periods, so a period that contains a
// DST change is an hour shorter or longer than its wall-clock length.

const MINUTE = 60_000
const DAY = 86_400_000
/** How many local days one question may scan before giving up: about ten years. */
const MAX_SCAN_DAYS = 3660
/** Cached days and offsets per compiled calendar, dropped wholesale beyond this (a long-lived process). */
const MAX_CACHED = 20_000

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export type Weekday = (typeof weekdays)[number]

const show = (value: unknown): string => JSON.stringify(value) ?? String(value)

// ---------------------------------------------------------------------------------------------
// Schema

const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/
const CLOCK_OR_MIDNIGHT = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/

/** A working period in local wall time: `from` included, `to` excluded ('24:00' is midnight after). */
export interface Period {
  from: string
  to: string
}

const wellFormed = (period: Period | null) =>
  period !== null && CLOCK.test(period.from) && CLOCK_OR_MIDNIGHT.test(period.to)

const periodSchema = z
  .object({
    from: z
      .string()
      .regex(CLOCK, { error: (issue) => `a local time HH:MM from 00:00 to 23:59, got ${show(issue.input)}` }),
    to: z.string().regex(CLOCK_OR_MIDNIGHT, {
      error: (issue) => `a local time HH:MM from 00:01 to 24:00, got ${show(issue.input)}`,
    }),
  })
  // Zero-padded HH:MM strings compare as times do, '24:00' last. A malformed time has its own
  // issue already (zod runs this check anyway).
  .refine((period) => !wellFormed(period) || period.from < period.to, {
    path: ['to'],
    error: (issue) => {
      const period = issue.input as Period
      return `a time after 'from' (${period.from}), got ${period.to}`
    },
  })

const span = (period: Period) => `${period.from}–${period.to}`

/** Why a day's periods are unusable together (overlapping, or listed out of order), if they are. */
function dayProblem(periods: readonly Period[]): string | undefined {
  // Malformed periods already have their own issue; comparing them would only add noise.
  if (!periods.every(wellFormed)) return undefined
  for (const [index, first] of periods.entries()) {
    for (const second of periods.slice(index + 1)) {
      if (first.from < second.to && second.from < first.to)
        return `periods must not overlap: ${span(first)} and ${span(second)}`
    }
  }
  for (const [index, period] of periods.entries()) {
    const previous = periods[index - 1]
    if (previous && period.from < previous.from)
      return `periods must be in time order: ${span(previous)} is listed before ${span(period)}`
  }
  return undefined
}

const daySchema = z
  .array(periodSchema)
  .refine((periods) => dayProblem(periods) === undefined, {
    error: (issue) => dayProblem(issue.input as Period[]),
  })
  .optional()

const weekSchema = z
  .strictObject({
    mon: daySchema,
    tue: daySchema,
    wed: daySchema,
    thu: daySchema,
    fri: daySchema,
    sat: daySchema,
    sun: daySchema,
  })
  // A calendar that is never open would make every deadline infinitely far away.
  .refine((week) => Object.values(week).some((periods) => (periods?.length ?? 0) > 0), {
    error: (issue) => `at least one working period in the week, got ${show(issue.input)}`,
  })

function isTimeZone(name: string): boolean {
  try {
    // Intl throws a RangeError for a zone it does not know.
    offsetReader(name)
    return name !== ''
  } catch {
    return false
  }
}

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** Days since 1970-01-01 of a real calendar date, or undefined (2026-02-30 is not one). */
function dayNumber(year: number, month: number, day: number): number | undefined {
  const time = Date.UTC(year, month - 1, day)
  const date = new Date(time)
  const real = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  return real && year >= 1000 ? time / DAY : undefined
}

function localDateDay(text: string): number | undefined {
  const match = LOCAL_DATE.exec(text)
  return match ? dayNumber(Number(match[1]), Number(match[2]), Number(match[3])) : undefined
}

const dateText = (day: number) => new Date(day * DAY).toISOString().slice(0, 10)

export const calendarSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]{1,62}$/, {
    error: (issue) => `a snake_case name, e.g. support_berlin, got ${show(issue.input)}`,
  }),
  timeZone: z.string().refine(isTimeZone, {
    error: (issue) => `an IANA time zone such as Europe/Berlin, got ${show(issue.input)}`,
  }),
  /** Working periods per weekday in local wall time, in order; a day left out is closed. */
  week: weekSchema,
  /** Local dates on which the calendar is closed all day. */
  holidays: z
    .array(
      z.string().refine((text) => localDateDay(text) !== undefined, {
        error: (issue) => `a real local date YYYY-MM-DD such as 2026-12-25, got ${show(issue.input)}`,
      }),
    )
    .default([]),
})

export type Calendar = z.infer<typeof calendarSchema>
/** What a calendar file contains, before defaults are applied. */
export type CalendarInput = z.input<typeof calendarSchema>

/** A calendar that failed validation; the message names each field and problem. */
export class CalendarError extends Error {
  readonly problems: string[]

  constructor(problems: string[]) {
    super(`invalid calendar:\n  ${problems.join('\n  ')}`)
    this.name = 'CalendarError'
    this.problems = problems
  }
}

// ---------------------------------------------------------------------------------------------
// Local wall time ↔ instants

// A wall time (what a local clock reads) is written as ms since the epoch as if that clock were
// UTC: local wall time = instant + the zone's offset at that instant.
type OffsetAt = (instant: number) => number

const readers = new Map<string, OffsetAt>()

/**
 * The zone's offset (local wall time minus UTC, ms) at an instant, read from Intl. Readers are
 * shared per zone: building an Intl.DateTimeFormat costs a hundred times more than using one.
 * Throws a RangeError for a zone Intl does not know.
 */
function offsetReader(timeZone: string): OffsetAt {
  let reader = readers.get(timeZone)
  if (reader) return reader
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  })
  reader = (instant) => {
    // Intl shows whole seconds; compare like with like. `format` and a pattern are twice as fast
    // as formatToParts, and en-US with h23 always reads "3/29/2026, 01:00:00".
    const second = Math.floor(instant / 1000) * 1000
    const match = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/.exec(format.format(second))
    if (!match) throw new Error(`unexpected Intl output for ${timeZone}: ${format.format(second)}`)
    const [month = 1, day = 1, year = 0, hour = 0, minute = 0, sec = 0] = match.slice(1).map(Number)
    return Date.UTC(year, month - 1, day, hour, minute, sec) - second
  }
  if (readers.size >= 1000) readers.clear()
  readers.set(timeZone, reader)
  return reader
}

/** The first instant after `low` whose offset differs from the offset at `low` (whole seconds). */
function firstChange(low: number, high: number, offsetAt: OffsetAt): number {
  const initial = offsetAt(low)
  let before = low
  let after = high
  while (after - before > 1000) {
    const middle = before + Math.floor((after - before) / 2000) * 1000
    if (offsetAt(middle) === initial) before = middle
    else after = middle
  }
  return after
}

/**
 * The instant at which the local clock first reads `wall`, given the zone's offsets before and
 * after a transition near it (the usual two-candidate method: wall − offset for each offset, kept
 * if the zone really has that offset there). A wall time that exists twice (the repeated hour of
 * a fall-back) gives its first occurrence; one that does not exist (skipped by a spring-forward)
 * gives the instant after the gap, the transition itself, where the clock jumps past `wall`. So a
 * period 02:30–05:00 on a day whose 02:00–03:00 is skipped opens at 03:00.
 */
function instantAcross(wall: number, before: number, after: number, offsetAt: OffsetAt): number {
  const valid = [wall - before, wall - after].filter((instant) => offsetAt(instant) === wall - instant)
  if (valid.length > 0) return Math.min(...valid)
  const low = Math.min(wall - before, wall - after)
  const high = Math.max(wall - before, wall - after)
  return firstChange(low, high, offsetAt)
}

// ---------------------------------------------------------------------------------------------
// Compiled calendar

export interface BusinessCalendar {
  readonly name: string
  readonly timeZone: string
  /** Whether instant `t` is working time (a period's start included, its end not). */
  isWorking(t: number): boolean
  /** When `durationMs` of working time has elapsed from `start` (counting from the next opening if closed). */
  addBusinessTime(start: number, durationMs: number): number
  /** Working milliseconds between two instants; 0 if `to` is not after `from`. */
  businessDuration(from: number, to: number): number
  /** The next instant after `t` at which working flips to closed or back; undefined if none within ten years. */
  nextChange(t: number): number | undefined
}

interface Interval {
  start: number
  end: number
}

const minutesOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5))
/** Monday 0 … Sunday 6; day 0 (1970-01-01) was a Thursday. */
const weekdayOf = (day: number) => (((day + 3) % 7) + 7) % 7

function assertInstant(value: number, what: string): void {
  if (!Number.isFinite(value)) throw new RangeError(`${what} must be a finite number of ms, got ${value}`)
}

function scanLimit(name: string, from: number): Error {
  return new Error(
    `calendar ${name}: no answer within ${MAX_SCAN_DAYS} days of ${new Date(from).toISOString()} ` +
      '(a duration or range of more than about ten years, or holidays covering them)',
  )
}

/** A calendar's working intervals per local day (as instants), computed once per day and cached. */
function dayIntervals(calendar: Calendar): (day: number) => Interval[] {
  const offsetAt = offsetReader(calendar.timeZone)
  const periods = weekdays.map((weekday) =>
    (calendar.week[weekday] ?? []).map((period) => [minutesOf(period.from), minutesOf(period.to)] as const),
  )
  const holidays = new Set(calendar.holidays.map((text) => localDateDay(text)))
  const offsets = new Map<number, number>()
  const days = new Map<number, Interval[]>()
  const sampledOffset = (instant: number) => {
    let offset = offsets.get(instant)
    if (offset === undefined) {
      if (offsets.size >= MAX_CACHED) offsets.clear()
      offset = offsetAt(instant)
      offsets.set(instant, offset)
    }
    return offset
  }
  const compute = (day: number): Interval[] => {
    const today = holidays.has(day) ? [] : (periods[weekdayOf(day)] ?? [])
    if (today.length === 0) return []
    // Offsets a day before and after the local day bracket it whatever the zone (offsets lie
    // within −12 h … +14 h); equal ones mean no transition that day, the common case. (Two
    // transitions undoing each other within three days would go unseen; no zone has had one.)
    const before = sampledOffset((day - 1) * DAY)
    const after = sampledOffset((day + 2) * DAY)
    const instant = (minutes: number) => {
      const wall = day * DAY + minutes * MINUTE
      return before === after ? wall - before : instantAcross(wall, before, after, offsetAt)
    }
    // A period wholly inside a skipped hour has no working time at all.
    return today
      .map(([from, to]) => ({ start: instant(from), end: instant(to) }))
      .filter((interval) => interval.end > interval.start)
  }
  return (day) => {
    let intervals = days.get(day)
    if (intervals === undefined) {
      if (days.size >= MAX_CACHED) days.clear()
      intervals = compute(day)
      days.set(day, intervals)
    }
    return intervals
  }
}

/** Working intervals ending after `t`, in time order; stops quietly after the scan limit. */
type Scan = (t: number) => Iterable<Interval>

function scanner(intervalsOn: (day: number) => Interval[]): Scan {
  return function* intervalsFrom(t) {
    // The local day of `t` is at most a day before its UTC day (offsets reach −12 h); one more for margin.
    const first = Math.floor(t / DAY) - 2
    for (let day = first; day < first + MAX_SCAN_DAYS; day++) {
      for (const interval of intervalsOn(day)) if (interval.end > t) yield interval
    }
  }
}

function isWorking(scan: Scan, t: number): boolean {
  for (const interval of scan(t)) return interval.start <= t
  return false
}

function addBusinessTime(scan: Scan, name: string, start: number, durationMs: number): number {
  if (!(durationMs >= 0 && Number.isFinite(durationMs)))
    throw new RangeError(`durationMs must be a finite number ≥ 0, got ${durationMs}`)
  let remaining = durationMs
  for (const interval of scan(start)) {
    const from = Math.max(interval.start, start)
    // `<=`: a duration that ends exactly at a closing is due then, not at the next opening.
    if (remaining <= interval.end - from) return from + remaining
    remaining -= interval.end - from
  }
  throw scanLimit(name, start)
}

function businessDuration(scan: Scan, name: string, from: number, to: number): number {
  if (!(to > from)) return 0
  let total = 0
  for (const interval of scan(from)) {
    if (interval.start >= to) return total
    total += Math.min(interval.end, to) - Math.max(interval.start, from)
  }
  throw scanLimit(name, from)
}

function nextChange(scan: Scan, t: number): number | undefined {
  let openUntil: number | undefined
  for (const interval of scan(t)) {
    if (openUntil === undefined) {
      if (interval.start > t) return interval.start
      openUntil = interval.end
    } else if (interval.start > openUntil) {
      return openUntil
    } else {
      // Touching periods (12:00–13:00 then 13:00–14:00; Sunday to 24:00 then Monday from 00:00) are one.
      openUntil = Math.max(openUntil, interval.end)
    }
  }
  // Open all the way through the scan: a round-the-clock calendar has no next change.
  return undefined
}

/**
 * Turns a calendar definition into pure functions over instants. Validates it first: throws a
 * CalendarError naming each bad field. Iterates over local days, never minutes, so a month-long
 * duration is a few dozen cached lookups.
 */
export function compileCalendar(definition: CalendarInput): BusinessCalendar {
  const result = calendarSchema.safeParse(definition)
  if (!result.success) {
    throw new CalendarError(
      result.error.issues.map((issue) => `${formatPath(issue.path) || '(calendar)'}: ${issue.message}`),
    )
  }
  const { name, timeZone } = result.data
  const scan = scanner(dayIntervals(result.data))
  return {
    name,
    timeZone,
    isWorking: (t) => {
      assertInstant(t, 't')
      return isWorking(scan, t)
    },
    addBusinessTime: (start, durationMs) => {
      assertInstant(start, 'start')
      return addBusinessTime(scan, name, start, durationMs)
    },
    businessDuration: (from, to) => {
      assertInstant(from, 'from')
      assertInstant(to, 'to')
      return businessDuration(scan, name, from, to)
    },
    nextChange: (t) => {
      assertInstant(t, 't')
      return nextChange(scan, t)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// iCalendar holidays

export interface IcsProblem {
  /** 1-based line of the text where the problem starts (a folded line: its first line). */
  line: number
  message: string
}

export interface IcsHolidays {
  /** Local dates YYYY-MM-DD, sorted, each once: ready for a calendar's `holidays`. */
  dates: string[]
  errors: IcsProblem[]
}

export interface IcsOptions {
  /** Yearly recurrences are expanded over these years; by default an event's start year through ten after it. */
  fromYear?: number
  toYear?: number
}

interface ContentLine {
  line: number
  name: string
  params: Record<string, string>
  value: string
}

interface VEvent {
  line: number
  properties: Map<string, ContentLine>
  /** Problems that do not stop the event from counting. */
  problems: IcsProblem[]
}

/** Logical lines: a line starting with a space or tab continues the previous one (RFC 5545 folding). */
function unfold(text: string): { line: number; text: string }[] {
  const lines: { line: number; text: string }[] = []
  for (const [index, physical] of text.split(/\r\n|\n|\r/).entries()) {
    const last = lines.at(-1)
    if (last && (physical.startsWith(' ') || physical.startsWith('\t'))) last.text += physical.slice(1)
    else lines.push({ line: index + 1, text: physical })
  }
  return lines.filter((logical) => logical.text.trim() !== '')
}

/** Splits on `separator` outside double quotes (parameter values may quote ':' and ';'). */
function splitUnquoted(text: string, separator: string, limit = Number.POSITIVE_INFINITY): string[] {
  const pieces: string[] = []
  let quoted = false
  let start = 0
  for (let index = 0; index < text.length && pieces.length < limit - 1; index++) {
    if (text[index] === '"') quoted = !quoted
    else if (!quoted && text[index] === separator) {
      pieces.push(text.slice(start, index))
      start = index + 1
    }
  }
  pieces.push(text.slice(start))
  return pieces
}

function parseContentLine(line: number, text: string): ContentLine | undefined {
  const [head, value] = splitUnquoted(text, ':', 2)
  if (value === undefined || head === undefined) return undefined
  const [name = '', ...rawParams] = splitUnquoted(head, ';')
  const params: Record<string, string> = {}
  for (const raw of rawParams) {
    const [key = '', paramValue = ''] = raw.split(/=(.*)/s)
    params[key.toUpperCase()] = paramValue.replace(/^"(.*)"$/s, '$1')
  }
  return { line, name: name.toUpperCase(), params, value: value.trim() }
}

/** VEVENT components with their properties (the first of each name); nested components' are left out. */
function readEvents(text: string, errors: IcsProblem[]): VEvent[] {
  const events: VEvent[] = []
  const open: string[] = []
  let event: VEvent | undefined
  for (const { line, text: logical } of unfold(text)) {
    const content = parseContentLine(line, logical)
    if (!content) {
      if (event && open.at(-1) === 'VEVENT')
        errors.push({ line, message: `expected a content line NAME:VALUE, got ${show(logical)}` })
      continue
    }
    const component = content.value.toUpperCase()
    if (content.name === 'BEGIN') {
      open.push(component)
      if (component === 'VEVENT') event = { line, properties: new Map(), problems: [] }
    } else if (content.name === 'END') {
      const at = open.lastIndexOf(component)
      if (at >= 0) open.length = at
      if (component === 'VEVENT' && event) {
        events.push(event)
        event = undefined
      }
    } else if (event && open.at(-1) === 'VEVENT' && !event.properties.has(content.name)) {
      event.properties.set(content.name, content)
    }
  }
  if (event) errors.push({ line: event.line, message: 'VEVENT without END:VEVENT: the event is skipped' })
  return events
}

interface IcsDate {
  day: number
  /** A date-time at exactly 00:00:00 (as an exclusive end it covers none of its day). */
  midnight: boolean
  dateTime: boolean
}

/**
 * A DATE or DATE-TIME value's local date. A date-time's date is taken as written: with a TZID it
 * is the local date in that zone, with a trailing Z the date in UTC, and without either (floating)
 * it is local wherever it is read.
 */
function icsDate(property: ContentLine): IcsDate | string {
  const match = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$/.exec(property.value)
  const day = match ? dayNumber(Number(match[1]), Number(match[2]), Number(match[3])) : undefined
  if (!match || day === undefined)
    return `${property.name} must be a date YYYYMMDD or a date-time YYYYMMDDTHHMMSS[Z], got ${show(property.value)}`
  if (property.params.VALUE === 'DATE' && match[4] !== undefined)
    return `${property.name};VALUE=DATE must be a date YYYYMMDD, got ${show(property.value)}`
  const dateTime = match[4] !== undefined
  return { day, dateTime, midnight: dateTime && `${match[4]}${match[5]}${match[6]}` === '000000' }
}

/** How many dates an event covers: DTEND is exclusive (a date, or a date-time at midnight). */
function coveredDays(
  start: IcsDate,
  end: IcsDate | undefined,
  dtend: ContentLine | undefined,
): number | string {
  if (!end || !dtend) return 1
  const days = start.dateTime ? end.day - start.day + (end.midnight ? 0 : 1) : end.day - start.day
  if (end.day < start.day || days < (start.dateTime ? 0 : 1))
    return `DTEND must be after DTSTART, got DTEND ${show(dtend.value)}`
  if (days > 366) return `an event of at most 366 days, got ${days} days to DTEND ${show(dtend.value)}`
  return Math.max(days, 1)
}

interface YearlyRule {
  interval: number
  count?: number
  untilDay?: number
}

const RULE_NUMBER = /^[1-9]\d{0,5}$/

/** A yearly RRULE (FREQ=YEARLY with COUNT, UNTIL or INTERVAL), or why it is not one this reader expands. */
function yearlyRule(value: string, start: number): YearlyRule | string {
  const parts = value.split(';').map((part) => {
    const [key = '', setting = ''] = part.split('=')
    return [key, setting] as const
  })
  if (!parts.some(([key, setting]) => key === 'FREQ' && setting === 'YEARLY'))
    return `only FREQ=YEARLY is expanded, got ${show(value)}`
  const rule: YearlyRule = { interval: 1 }
  for (const [key, setting] of parts) {
    const problem = applyRulePart(rule, key, setting, new Date(start * DAY))
    if (problem) return `${problem} in ${show(value)}`
  }
  return rule
}

function applyRulePart(rule: YearlyRule, key: string, setting: string, start: Date): string | undefined {
  switch (key) {
    case 'FREQ':
    case 'WKST':
      return undefined
    case 'COUNT':
    case 'INTERVAL':
      if (!RULE_NUMBER.test(setting)) return `${key} must be a positive whole number, got ${show(setting)}`
      if (key === 'COUNT') rule.count = Number(setting)
      else rule.interval = Number(setting)
      return undefined
    case 'UNTIL': {
      const match = /^(\d{4})(\d{2})(\d{2})/.exec(setting)
      rule.untilDay = match ? dayNumber(Number(match[1]), Number(match[2]), Number(match[3])) : undefined
      return rule.untilDay === undefined ? `UNTIL must be a date YYYYMMDD, got ${show(setting)}` : undefined
    }
    // Generated files often restate the start's month and day; anything else needs a real expander.
    case 'BYMONTH':
      return Number(setting) === start.getUTCMonth() + 1
        ? undefined
        : `unsupported RRULE part BYMONTH=${setting}`
    case 'BYMONTHDAY':
      return Number(setting) === start.getUTCDate()
        ? undefined
        : `unsupported RRULE part BYMONTHDAY=${setting}`
    default:
      return `unsupported RRULE part ${key}=${setting}`
  }
}

/** The start days of a yearly event's occurrences within the years asked for. */
function yearlyStarts(start: number, rule: YearlyRule, fromYear: number, toYear: number): number[] {
  const date = new Date(start * DAY)
  const starts: number[] = []
  let count = 0
  for (let year = date.getUTCFullYear(); year <= toYear; year += rule.interval) {
    // 29 February in a year without one is no occurrence (RFC 5545 skips invalid dates).
    const day = dayNumber(year, date.getUTCMonth() + 1, date.getUTCDate())
    if (day === undefined) continue
    if (
      (rule.untilDay !== undefined && day > rule.untilDay) ||
      (rule.count !== undefined && count >= rule.count)
    )
      break
    count++
    if (year >= fromYear) starts.push(day)
  }
  return starts
}

/** The dates (as day numbers) an event covers, or a problem with its line. */
function eventDays(event: VEvent, options: IcsOptions): number[] | IcsProblem {
  const dtstart = event.properties.get('DTSTART')
  if (!dtstart)
    return { line: event.line, message: 'VEVENT without DTSTART: its date is unknown, the event is skipped' }
  const start = icsDate(dtstart)
  if (typeof start === 'string') return { line: dtstart.line, message: start }
  const dtend = event.properties.get('DTEND')
  const end = dtend ? icsDate(dtend) : undefined
  if (typeof end === 'string') return { line: dtend?.line ?? event.line, message: end }
  const length = coveredDays(start, end, dtend)
  if (typeof length === 'string') return { line: dtend?.line ?? event.line, message: length }
  return occurrenceStarts(event, start.day, options).flatMap((first) =>
    Array.from({ length }, (_, offset) => first + offset),
  )
}

/** The first day of each occurrence: the start, or its yearly repetitions within the years asked for. */
function occurrenceStarts(event: VEvent, start: number, options: IcsOptions): number[] {
  const rrule = event.properties.get('RRULE')
  if (!rrule) return [start]
  const rule = yearlyRule(rrule.value.toUpperCase(), start)
  // Reported on the RRULE line but not fatal: the event's own date is still a holiday.
  if (typeof rule === 'string') {
    event.problems.push({ line: rrule.line, message: `${rule}: only the first occurrence is kept` })
    return [start]
  }
  const year = new Date(start * DAY).getUTCFullYear()
  return yearlyStarts(start, rule, options.fromYear ?? year, options.toYear ?? year + 10)
}

/**
 * Reads holiday dates from an iCalendar (RFC 5545) file: its VEVENTs' DTSTART (all-day dates or
 * date-times), DTEND (exclusive: a multi-day event covers each of its dates) and yearly RRULEs,
 * expanded over the years asked for (one-off events are kept whatever their year). Other
 * properties are ignored; a problem with an event is reported with its line, never thrown.
 */
export function parseIcsHolidays(text: string, options: IcsOptions = {}): IcsHolidays {
  for (const year of [options.fromYear, options.toYear]) {
    if (year !== undefined && !(Number.isInteger(year) && year >= 1000 && year <= 9999))
      throw new RangeError(`fromYear and toYear must be years 1000–9999, got ${year}`)
  }
  const errors: IcsProblem[] = []
  const days = new Set<number>()
  for (const event of readEvents(text, errors)) {
    const covered = eventDays(event, options)
    if (Array.isArray(covered)) for (const day of covered) days.add(day)
    else errors.push(covered)
    errors.push(...event.problems)
  }
  errors.sort((a, b) => a.line - b.line)
  return { dates: [...days].sort((a, b) => a - b).map(dateText), errors }
}

// ---------------------------------------------------------------------------------------------
// Edited calendars

/** One version of a calendar and the instant from which it applies (ms; -Infinity: always before the next). */
export interface CalendarVersion {
  since: number
  calendar: BusinessCalendar
}

/**
 * A calendar edited over time as one: at each instant the version whose `since` is the latest
 * not after it applies, so an interaction open across an edit counts its working time before the
 * edit on the old hours and after it on the new ones. Versions must share a name; they are taken
 * in `since` order.
 */
export function composeCalendarVersions(versions: readonly CalendarVersion[]): BusinessCalendar {
  const sorted = [...versions].sort((a, b) => a.since - b.since)
  const first = sorted[0]
  if (!first) throw new Error('a calendar needs at least one version')
  if (sorted.length === 1) return first.calendar
  /** The versions' segments: [from, to) with the calendar that applies there. */
  const segments = sorted.map((version, index) => ({
    from: index === 0 ? Number.NEGATIVE_INFINITY : version.since,
    to: sorted[index + 1]?.since ?? Number.POSITIVE_INFINITY,
    calendar: version.calendar,
  }))
  const at = (t: number) =>
    segments.find((segment) => t >= segment.from && t < segment.to) ??
    (segments.at(-1) as (typeof segments)[number])
  return {
    name: first.calendar.name,
    timeZone: (sorted.at(-1) as CalendarVersion).calendar.timeZone,
    isWorking: (t) => at(t).calendar.isWorking(t),
    businessDuration: (from, to) => {
      let total = 0
      for (const segment of segments) {
        const start = Math.max(from, segment.from)
        const end = Math.min(to, segment.to)
        if (end > start) total += segment.calendar.businessDuration(start, end)
      }
      return total
    },
    addBusinessTime: (start, durationMs) => {
      let remaining = durationMs
      for (const segment of segments) {
        if (segment.to <= start) continue
        const from = Math.max(start, segment.from)
        if (segment.to === Number.POSITIVE_INFINITY) return segment.calendar.addBusinessTime(from, remaining)
        const available = segment.calendar.businessDuration(from, segment.to)
        if (available > 0 && remaining <= available) return segment.calendar.addBusinessTime(from, remaining)
        remaining -= available
      }
      // Unreachable: the last segment is unbounded.
      return Number.POSITIVE_INFINITY
    },
    nextChange: (t) => {
      const segment = at(t)
      const inside = segment.calendar.nextChange(t)
      // The hours may change at the edit itself: look again there (a change, or a no-op revisit).
      if (inside !== undefined && inside < segment.to) return inside
      return segment.to === Number.POSITIVE_INFINITY ? inside : segment.to
    },
  }
}
