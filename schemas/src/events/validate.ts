import type { z } from 'zod'
import { eventTypes } from './data.ts'
import { type CloudEvent, cloudEventSchema } from './envelope.ts'
import { jsonErrorOffset } from './json-error-position.ts'

/** One thing wrong with an event: where (`data.items`) and what (`expected integer >= 1, got "three"`). */
export interface FieldError {
  path: string
  message: string
}

/** Why an event was rejected, one word per family: the label of the rejection counters. */
export type RejectReason =
  | 'malformed_json'
  | 'too_large'
  | 'too_deep'
  | 'string_too_long'
  | 'not_an_object'
  | 'unknown_type'
  | 'invalid_field'
  | 'time_in_future'
  | 'invalid_text'
  | 'storage_rejected'
  | 'conflicting_duplicate'

export const rejectReasons: readonly RejectReason[] = [
  'malformed_json',
  'too_large',
  'too_deep',
  'string_too_long',
  'not_an_object',
  'unknown_type',
  'invalid_field',
  'time_in_future',
  // Text that is not well-formed Unicode (a lone UTF-16 surrogate): no database stores it faithfully.
  'invalid_text',
  // Valid, yet the store refused the row: kept as a dead letter so the partition moves on.
  'storage_rejected',
  // The same (source, id) as an accepted event, with other content: the first accepted copy wins.
  'conflicting_duplicate',
]

export type Validation =
  | {
      ok: true
      event: CloudEvent
      /**
       * The value the event's text parsed to, as `JSON.parse` gives it (from `parseAndValidate`
       * only): unknown fields kept, which the validated `event` may not have.
       */
      parsed?: unknown
    }
  | {
      ok: false
      reason: RejectReason
      errors: FieldError[]
      /** What could be read of the event's identity, for the answer and the dead letter. */
      id?: string
      type?: string
      subject?: string
    }

export interface ValidationLimits {
  /** Serialized size of one event. */
  maxEventBytes: number
  /** Nesting of objects and arrays, the event itself being depth 1. */
  maxDepth: number
  /** Characters in any one string, keys included. */
  maxStringLength: number
  /** How far `time` may lie ahead of the validator's clock. */
  maxFutureMs: number
}

export const defaultLimits: ValidationLimits = {
  maxEventBytes: 64 * 1024,
  maxDepth: 12,
  maxStringLength: 8 * 1024,
  maxFutureMs: 5 * 60_000,
}

export interface ValidateOptions {
  /** The clock `time` is judged against (ms since epoch): the request's arrival, or the Kafka message's timestamp. */
  now: number
  limits?: Partial<ValidationLimits>
}

/** Parses one event's JSON text and validates it. Never throws. */
export function parseAndValidate(raw: string | Uint8Array, options: ValidateOptions): Validation {
  const limits = { ...defaultLimits, ...options.limits }
  const bytes = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength
  if (bytes > limits.maxEventBytes) {
    return reject('too_large', [
      { path: '', message: `expected an event of at most ${limits.maxEventBytes} bytes, got ${bytes} bytes` },
    ])
  }
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8')
  const parsed = parseJson(text)
  if (!parsed.ok) return reject('malformed_json', [{ path: '', message: parsed.message }])
  const result = validateEvent(parsed.value, {
    ...options,
    limits: { ...limits, maxEventBytes: Number.POSITIVE_INFINITY },
  })
  return result.ok ? { ...result, parsed: parsed.value } : result
}

/** Validates an already parsed value as a v1 CloudEvent. Never throws. */
export function validateEvent(value: unknown, options: ValidateOptions): Validation {
  try {
    return validateUnsafe(value, options)
  } catch (error) {
    // Defence in depth: the checks above are written not to throw; if one ever does, the event
    // is still answered and kept, with the reason visible.
    return reject('invalid_field', [
      {
        path: '',
        message: `the validator failed on this event: ${error instanceof Error ? error.message : String(error)}`,
      },
    ])
  }
}

function validateUnsafe(value: unknown, options: ValidateOptions): Validation {
  const limits = { ...defaultLimits, ...options.limits }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject('not_an_object', [{ path: '', message: `expected a JSON object, got ${describe(value)}` }])
  }
  const identity = identityOf(value)
  if (Number.isFinite(limits.maxEventBytes)) {
    const bytes = Buffer.byteLength(JSON.stringify(value))
    if (bytes > limits.maxEventBytes) {
      return reject(
        'too_large',
        [
          {
            path: '',
            message: `expected an event of at most ${limits.maxEventBytes} bytes, got ${bytes} bytes`,
          },
        ],
        identity,
      )
    }
  }
  const limitError = checkShape(value, limits)
  if (limitError) return reject(limitError.reason, [limitError.error], identity)

  const result = cloudEventSchema.safeParse(value, { error: (issue) => expectationOf(issue) })
  if (!result.success) {
    const errors = result.error.issues.map((issue) => ({
      path: formatPath(issue.path),
      message: `expected ${issue.message}, got ${describe(valueAt(value, issue.path))}`,
    }))
    const unknownType = result.error.issues.some(
      (issue) => issue.code === 'invalid_union' && issue.path.length === 1 && issue.path[0] === 'type',
    )
    return reject(unknownType ? 'unknown_type' : 'invalid_field', errors, identity)
  }
  const event = result.data as CloudEvent
  const time = Date.parse(event.time)
  if (time > options.now + limits.maxFutureMs) {
    const minutes = Math.round(limits.maxFutureMs / 60_000)
    return reject(
      'time_in_future',
      [
        {
          path: 'time',
          message: `expected a time at most ${minutes} minutes ahead of ${new Date(options.now).toISOString()}, got ${JSON.stringify(event.time)}`,
        },
      ],
      identity,
    )
  }
  return { ok: true, event }
}

function reject(
  reason: RejectReason,
  errors: FieldError[],
  identity: { id?: string; type?: string; subject?: string } = {},
): Validation {
  return { ok: false, reason, errors, ...identity }
}

function identityOf(value: object): { id?: string; type?: string; subject?: string } {
  const record = value as Record<string, unknown>
  const identity: { id?: string; type?: string; subject?: string } = {}
  for (const key of ['id', 'type', 'subject'] as const) {
    const field = record[key]
    if (typeof field === 'string' && field.length <= 256) identity[key] = field
  }
  return identity
}

/** Depth and string-length limits, checked without recursion so deep input cannot overflow the stack. */
function checkShape(
  root: object,
  limits: ValidationLimits,
): { reason: RejectReason; error: FieldError } | undefined {
  const stack: { value: unknown; path: PropertyKey[]; depth: number }[] = [
    { value: root, path: [], depth: 1 },
  ]
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop() as { value: unknown; path: PropertyKey[]; depth: number }
    if (typeof value === 'string') {
      const textError = malformedText(value, path, 'string')
      if (textError) return textError
      if (value.length > limits.maxStringLength) {
        return {
          reason: 'string_too_long',
          error: {
            path: formatPath(path),
            message: `expected a string of at most ${limits.maxStringLength} characters, got ${value.length} characters`,
          },
        }
      }
      continue
    }
    if (typeof value !== 'object' || value === null) continue
    if (depth > limits.maxDepth) {
      return {
        reason: 'too_deep',
        error: {
          path: formatPath(path),
          message: `expected nesting of at most ${limits.maxDepth} levels, got more`,
        },
      }
    }
    // Array.from visits the holes of a sparse array too (map would skip them and leave holes).
    const entries: [PropertyKey, unknown][] = Array.isArray(value)
      ? Array.from(value, (item, index) => [index, item])
      : Object.entries(value)
    for (const [key, item] of entries) {
      const keyError = typeof key === 'string' ? malformedText(key, [...path, key], 'key') : undefined
      if (keyError) return keyError
      if (typeof key === 'string' && key.length > limits.maxStringLength) {
        return {
          reason: 'string_too_long',
          error: {
            path: formatPath(path),
            message: `expected keys of at most ${limits.maxStringLength} characters, got one of ${key.length}`,
          },
        }
      }
      stack.push({ value: item, path: [...path, key], depth: depth + 1 })
    }
  }
  return undefined
}

/**
 * A lone UTF-16 surrogate (JSON `"\ud800"`) parses in JavaScript but is no Unicode text:
 * ClickHouse refuses the row, and a refused row would stall its partition.
 */
function malformedText(
  text: string,
  path: readonly PropertyKey[],
  what: 'string' | 'key',
): { reason: RejectReason; error: FieldError } | undefined {
  if (text.isWellFormed()) return undefined
  let at = 0
  for (; at < text.length; at++) {
    const unit = text.charCodeAt(at)
    const high = unit >= 0xd800 && unit <= 0xdbff
    const next = text.charCodeAt(at + 1)
    if (high && next >= 0xdc00 && next <= 0xdfff) at++
    else if (high || (unit >= 0xdc00 && unit <= 0xdfff)) break
  }
  const unit = text.charCodeAt(at).toString(16).toUpperCase()
  return {
    reason: 'invalid_text',
    error: {
      path: formatPath(path),
      message: `expected ${what === 'key' ? 'a key' : 'text'} of well-formed Unicode, got a lone surrogate U+${unit} at character ${at}`,
    },
  }
}

/** The expectation phrase for issues whose schema gave none of its own. */
function expectationOf(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'int') return 'integer'
      if (issue.expected === 'object') return 'an object'
      return String(issue.expected)
    case 'invalid_value':
      return `one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`
    case 'invalid_union':
      if ('discriminator' in issue || issue.path?.at(-1) === 'type') {
        return `one of the v1 event types (${eventTypes.join(', ')})`
      }
      return 'a value of one of the allowed shapes'
    case 'too_small':
      return `${issue.origin} of at least ${issue.minimum}`
    case 'too_big':
      return `${issue.origin} of at most ${issue.maximum}`
    case 'invalid_format':
      return `a ${issue.format}`
    default:
      return issue.message ?? String(issue.code)
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let text = ''
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`
    else text += text === '' ? String(segment) : `.${String(segment)}`
  }
  return text
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined
    if (!Object.hasOwn(current, segment)) return undefined
    current = (current as Record<PropertyKey, unknown>)[segment]
  }
  return current
}

/** A short, safe rendering of what was received. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (typeof value === 'string') {
    return value.length > 60
      ? `${JSON.stringify(value.slice(0, 60))}… (${value.length} characters)`
      : JSON.stringify(value)
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'object') return 'an object'
  return typeof value
}

/** JSON.parse with the position of the first error, as `line L, column C (offset O)`. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    if (text.trim() === '') return { ok: false, message: 'expected valid JSON, got an empty body' }
    const offset = jsonErrorOffset(text)
    if (offset === undefined) {
      return {
        ok: false,
        message: `expected valid JSON, got ${error instanceof Error ? error.message : String(error)}`,
      }
    }
    const before = text.slice(0, offset)
    const line = before.split('\n').length
    const column = offset - before.lastIndexOf('\n')
    const found =
      offset >= text.length ? 'the end of the text' : JSON.stringify(text.slice(offset, offset + 12))
    return {
      ok: false,
      message: `expected valid JSON, got ${found} at line ${line}, column ${column} (offset ${offset})`,
    }
  }
}
