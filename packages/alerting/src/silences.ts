import { durationSchema } from '@cpi/cpi-core'
import type { Labels } from './labels.ts'

export interface Matcher {
  name: string
  value: string
  /** The value is a regular expression that must match the whole label value. */
  isRegex?: boolean
}

export interface Silence {
  id: string
  matchers: Matcher[]
  startsAt: number
  endsAt: number
  createdBy: string
  comment: string
}

export interface SilenceError {
  /** Where in the request body, e.g. `matchers[0].value`; '' for the body itself. */
  path: string
  /** `expected …, got …`. */
  message: string
}

export type ParsedSilence = { ok: true; silence: Omit<Silence, 'id'> } | { ok: false; errors: SilenceError[] }

const KNOWN_FIELDS = ['matchers', 'startsAt', 'endsAt', 'duration', 'createdBy', 'comment']
const MATCHER_FIELDS = ['name', 'value', 'isRegex']
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
// RFC 3339 with a zone; Date.parse alone accepts far more (and reads zone-less times as local).
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i

/** How a value looks in an error message: strings quoted, the rest by kind. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') {
    const text = JSON.stringify(value)
    return text.length > 60 ? `${text.slice(0, 57)}…"` : text
  }
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The anchored regular expression of a regex matcher (Alertmanager semantics), or its error. */
function compileMatcher(value: string): RegExp | Error {
  try {
    return new RegExp(`^(?:${value})$`)
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  }
}

/** Records a problem at `path`: what was expected, and what came. */
type Fail = (path: string, expected: string, got: unknown) => void

/**
 * Validates a request to create a silence. `endsAt` (RFC 3339) or `duration` (`30m`, `2h`, `7d`),
 * not both; `startsAt` defaults to `now`. Every problem is reported, each with its field path.
 */
export function parseSilence(input: unknown, now: number): ParsedSilence {
  if (!isRecord(input))
    return { ok: false, errors: [{ path: '', message: `expected an object, got ${describe(input)}` }] }
  const errors: SilenceError[] = []
  const fail: Fail = (path, expected, got) =>
    errors.push({ path, message: `expected ${expected}, got ${describe(got)}` })

  for (const field of Object.keys(input))
    if (!KNOWN_FIELDS.includes(field))
      fail(field, `one of the fields ${KNOWN_FIELDS.join(', ')}`, input[field])
  const matchers = parseMatchers(input.matchers, errors, fail)
  const { startsAt, endsAt } = parseWindow(input, now, errors, fail)
  const createdBy = parseText(input, 'createdBy', 'the name of who creates the silence', fail)
  const comment = parseText(input, 'comment', 'a comment saying why', fail)

  if (
    errors.length > 0 ||
    startsAt === undefined ||
    endsAt === undefined ||
    createdBy === undefined ||
    comment === undefined
  )
    return { ok: false, errors }
  return { ok: true, silence: { matchers, startsAt, endsAt, createdBy, comment } }
}

/** The request's matchers, each checked (fields, label name, value, regular expression). */
function parseMatchers(input: unknown, errors: SilenceError[], fail: Fail): Matcher[] {
  const matchers: Matcher[] = []
  if (!Array.isArray(input) || input.length === 0) {
    fail('matchers', 'a non-empty array of matchers', input)
    return matchers
  }
  for (const [index, item] of input.entries()) {
    const matcher = parseMatcher(item, `matchers[${index}]`, fail)
    if (matcher) matchers.push(matcher)
  }
  // Alertmanager's guard: a silence whose every matcher also matches an empty value would
  // silence far more than anyone meant (`cpi=~".*"`).
  if (matchers.length > 0 && matchers.length === input.length && matchers.every(matchesEmpty))
    errors.push({
      path: 'matchers',
      message:
        'expected at least one matcher that does not match an empty value, got only catch-all matchers',
    })
  return matchers
}

/** One matcher `{ name, value, isRegex? }` at `path`, or undefined when it has a problem that stops it. */
function parseMatcher(item: unknown, path: string, fail: Fail): Matcher | undefined {
  if (!isRecord(item)) {
    fail(path, 'a matcher { name, value, isRegex? }', item)
    return undefined
  }
  for (const field of Object.keys(item))
    if (!MATCHER_FIELDS.includes(field)) fail(`${path}.${field}`, 'name, value or isRegex', item[field])
  const { name, value, isRegex } = item
  if (typeof name !== 'string' || !LABEL_NAME.test(name))
    fail(`${path}.name`, 'a label name such as cpi', name)
  if (typeof value !== 'string') fail(`${path}.value`, 'a string', value)
  if (isRegex !== undefined && typeof isRegex !== 'boolean') fail(`${path}.isRegex`, 'true or false', isRegex)
  if (typeof name !== 'string' || typeof value !== 'string') return undefined
  if (isRegex !== true) return { name, value }
  const compiled = compileMatcher(value)
  if (compiled instanceof Error) {
    fail(`${path}.value`, `a valid regular expression (${compiled.message})`, value)
    return undefined
  }
  return { name, value, isRegex: true }
}

/** An RFC 3339 time field of the request: undefined when absent or invalid (reported). */
function parseTime(input: Record<string, unknown>, field: string, fail: Fail): number | undefined {
  const value = input[field]
  if (value === undefined) return undefined
  const parsed = typeof value === 'string' && RFC_3339.test(value) ? Date.parse(value) : Number.NaN
  if (Number.isNaN(parsed)) {
    fail(field, 'an RFC 3339 time such as 2026-11-22T10:00:00Z', value)
    return undefined
  }
  return parsed
}

/** When the silence starts and ends: `startsAt` (or now), and `endsAt` or `duration`, ending in the future. */
function parseWindow(
  input: Record<string, unknown>,
  now: number,
  errors: SilenceError[],
  fail: Fail,
): { startsAt: number | undefined; endsAt: number | undefined } {
  const startsAt = input.startsAt === undefined ? now : parseTime(input, 'startsAt', fail)
  let endsAt: number | undefined
  if (input.endsAt !== undefined && input.duration !== undefined) {
    fail('duration', 'endsAt or duration, not both', input.duration)
  } else if (input.endsAt !== undefined) {
    endsAt = parseTime(input, 'endsAt', fail)
  } else if (input.duration !== undefined) {
    const duration = durationSchema.safeParse(input.duration)
    if (!duration.success || duration.data <= 0)
      fail('duration', 'a duration such as 30m, 2h or 7d', input.duration)
    else if (startsAt !== undefined) endsAt = startsAt + duration.data
  } else {
    fail('endsAt', 'endsAt (an RFC 3339 time) or duration (such as 2h)', undefined)
  }
  if (startsAt !== undefined && endsAt !== undefined) {
    const field = input.duration !== undefined ? 'duration' : 'endsAt'
    if (endsAt <= startsAt)
      errors.push({
        path: field,
        message: `expected an end after startsAt ${new Date(startsAt).toISOString()}, got ${new Date(endsAt).toISOString()}`,
      })
    else if (endsAt <= now)
      errors.push({
        path: field,
        message: `expected an end in the future (after ${new Date(now).toISOString()}), got ${new Date(endsAt).toISOString()}`,
      })
  }
  return { startsAt, endsAt }
}

/** A required non-blank text field of the request, trimmed; undefined (reported) otherwise. */
function parseText(
  input: Record<string, unknown>,
  field: string,
  expected: string,
  fail: Fail,
): string | undefined {
  const value = input[field]
  if (typeof value === 'string' && value.trim() !== '') return value.trim()
  fail(field, expected, value)
  return undefined
}

function matchesEmpty(matcher: Matcher): boolean {
  return matchesValue(matcher, '')
}

function matchesValue(matcher: Matcher, value: string): boolean {
  if (matcher.isRegex !== true) return matcher.value === value
  const compiled = compileMatcher(matcher.value)
  return !(compiled instanceof Error) && compiled.test(value)
}

/** The ids of the silences active at `at` (startsAt ≤ at < endsAt) whose every matcher matches. */
export function isSilenced(labels: Labels, silences: readonly Silence[], at: number): string[] {
  return silences
    .filter(
      (silence) =>
        silence.startsAt <= at &&
        at < silence.endsAt &&
        silence.matchers.length > 0 &&
        // A label the alert lacks has the empty value, as in Alertmanager.
        silence.matchers.every((matcher) => matchesValue(matcher, labels[matcher.name] ?? '')),
    )
    .map((silence) => silence.id)
}
