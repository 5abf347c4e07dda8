import { z } from 'zod'

// The query parameters of the API as zod schemas: what validates a request is what the OpenAPI
// document describes. Every problem is `<parameter>: expected …, got …`, a 400 naming it; a
// parameter with a problem falls back to its default so the others are still checked.

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}
const DURATION = /^(\d+)(ms|s|m|h|d|w)$/
const DAY = 86_400_000

/** `30s`, `5m`, `1h`, `7d`, `2w` → milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text)
  if (!match) return undefined
  return Number(match[1]) * (UNITS[match[2] as string] as number)
}

/** A compact duration for display: the largest unit that divides it exactly. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit] as number
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

const quote = (value: unknown) => JSON.stringify(value)

/** `now`, `now-6h`, an ISO 8601 time with a zone, or epoch milliseconds. */
export function parseTime(text: string, now: number): number | undefined {
  if (text === 'now') return now
  const relative = /^now-(.+)$/.exec(text)
  if (relative) {
    const duration = parseDuration(relative[1] as string)
    return duration === undefined ? undefined : now - duration
  }
  // Epoch milliseconds only (12–13 digits): epoch seconds would silently mean January 1970.
  if (/^\d{12,13}$/.test(text)) return Number(text)
  const iso = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(text)
  if (!iso) return undefined
  // Date.parse rolls an impossible day over (2026-02-30 → 2026-03-02); refuse it instead.
  const day = Number(iso[3])
  if (new Date(Date.UTC(Number(iso[1]), Number(iso[2]) - 1, day)).getUTCDate() !== day) return undefined
  const parsed = Date.parse(text)
  return Number.isNaN(parsed) ? undefined : parsed
}

export const seriesLimits = {
  maxWindows: 10_000,
  maxRangeMs: 400 * DAY,
  minStepMs: 1000,
}

/** One problem of a request, naming the parameter (or body field) it is about. */
export interface ParameterProblem {
  parameter: string
  message: string
}

/** A problem zod reports and parsing goes on past, so every parameter is checked. */
const problemIssue = (parameter: string | undefined, message: string, input: unknown) => ({
  code: 'custom' as const,
  message,
  input,
  continue: true,
  ...(parameter === undefined ? {} : { path: [parameter] }),
})

/** The text of a query value: the last one of a repeated parameter; undefined when absent. */
const lastText = (value: unknown): string | undefined => {
  if (value === undefined) return undefined
  if (Array.isArray(value)) return value.length === 0 ? undefined : String(value[value.length - 1])
  return String(value)
}

interface ParameterOptions<T extends z.ZodType> {
  /** What the message says was expected: `expected <expected>, got "<text>"`. */
  expected: string
  /** The text as the input of `value` (undefined: not even that); default the text itself. */
  read?: (text: string) => unknown
  /** The value when the parameter is absent, as an input of `value` (shown in the document). */
  fallback?: z.input<T>
  /** An empty value is a value (checked), not an absent parameter. */
  emptyIsValue?: boolean
}

/**
 * A single-valued query parameter whose value `value` checks and converts: its last value when
 * repeated, absent when empty; anything `value` refuses is one problem in the words of `expected`.
 * The document shows `value`'s input.
 */
export function parameter<T extends z.ZodType>(
  value: T,
  options: ParameterOptions<T> & { fallback: z.input<T> },
): z.ZodType<z.output<T>, z.input<T> | undefined>
export function parameter<T extends z.ZodType>(
  value: T,
  options: ParameterOptions<T>,
): z.ZodType<z.output<T> | undefined, z.input<T> | undefined>
export function parameter<T extends z.ZodType>(value: T, options: ParameterOptions<T>) {
  const { expected, read = (text: string) => text } = options
  return z.preprocess(
    (input, payload) => {
      const text = lastText(input)
      if (text === undefined || (text === '' && !options.emptyIsValue)) return undefined
      const candidate = read(text)
      if (candidate !== undefined && value.safeParse(candidate).success) return candidate
      payload.issues.push(problemIssue(undefined, `expected ${expected}, got ${quote(text)}`, text))
      return undefined
    },
    options.fallback === undefined ? value.optional() : value.prefault(options.fallback),
  )
}

/** A duration (`15m`, `2h`, `1d`) from `min` to `max` ms, in whole seconds if asked; its milliseconds. */
export const duration = (bounds: { min: number; max?: number; wholeSeconds?: boolean }) =>
  z
    .string()
    .regex(DURATION)
    .transform((text) => parseDuration(text) as number)
    .refine(
      (ms) =>
        ms >= bounds.min &&
        ms <= (bounds.max ?? Number.MAX_SAFE_INTEGER) &&
        (!bounds.wholeSeconds || ms % 1000 === 0),
    )

/** A plain decimal (`0.02`, `1e-3`, no hex, spaces or Infinity) as a number; undefined otherwise. */
export const decimal = (text: string) => (/^-?\d*\.?\d+(e-?\d+)?$/i.test(text) ? Number(text) : undefined)

/** A time `parseTime` reads (its text: a relative one is resolved against the request's clock). */
export const time = (example: string, description: string) =>
  parameter(
    z
      .string()
      .refine((text) => parseTime(text, 0) !== undefined)
      .meta({ examples: ['2026-11-22T10:00:00Z', 'now', example] }),
    {
      expected: `an ISO 8601 time with a zone (2026-11-22T10:00:00Z), epoch milliseconds, now or now-<duration> (${example})`,
    },
  ).describe(description)

/** Reports a problem of a whole query (a rule between parameters). */
export type Report = (parameter: string, message: string) => void

/**
 * The query string of a route: `fields` (one schema per parameter), then `finish` (the rules
 * between parameters, and the value the handler gets). `refuse`: unknown parameters are refused,
 * each `expected <refuse>, got "<name>"` (`access_token`, the key EventSource sends, never is).
 * `order`: the parameters in the order their problems are listed, `*` for the unknown ones.
 */
export function queryObject<S extends z.core.$ZodLooseShape, O>(options: {
  fields: S
  refuse?: string
  order?: readonly string[]
  finish: (value: z.output<z.ZodObject<S>>, report: Report) => O
}): z.ZodType<O, z.input<z.ZodObject<S>>> {
  const order = options.order ?? Object.keys(options.fields)
  const rank = (parameter: PropertyKey | undefined) => {
    const known = typeof parameter === 'string' && Object.hasOwn(options.fields, parameter)
    const at = order.indexOf(known ? parameter : '*')
    return at === -1 ? order.length : at
  }
  const schema = z.looseObject(options.fields).check((payload) => {
    const report: Report = (parameter, message) =>
      payload.issues.push(problemIssue(parameter, message, payload.value))
    if (options.refuse !== undefined)
      for (const name of Object.keys(payload.value))
        if (!Object.hasOwn(options.fields, name) && name !== 'access_token')
          report(name, `expected ${options.refuse}, got ${quote(name)}`)
    const value = options.finish(payload.value as z.output<z.ZodObject<S>>, report)
    payload.issues.sort((a, b) => rank(a.path?.[0]) - rank(b.path?.[0]))
    ;(payload as { value: unknown }).value = value
  })
  return schema as unknown as z.ZodType<O, z.input<z.ZodObject<S>>>
}

/**
 * `from` and `to` (default: the `spanMs` before now), each a time `parseTime` reads; from before
 * to, at most `seriesLimits.maxRangeMs` apart.
 */
function timeRange(
  texts: { from?: string | undefined; to?: string | undefined },
  now: number,
  spanMs: number,
  report: Report,
) {
  const to = texts.to === undefined ? now : (parseTime(texts.to, now) as number)
  const from = texts.from === undefined ? to - spanMs : (parseTime(texts.from, now) as number)
  if (from >= to) report('from', `expected a time before to, got ${quote(texts.from)}`)
  else if (to - from > seriesLimits.maxRangeMs)
    report('from', `expected a range of at most 400d, got ${formatDuration(to - from)}`)
  return { from, to }
}

const windowExpected = 'a duration from 1m to 30d such as 15m, 1h or 1d'
const windowValue = duration({ min: 60_000, max: 30 * DAY, wholeSeconds: true })

/** `window` of `GET /v1/cpis`: 1m to 30d, whole seconds (default 1h); its milliseconds. */
export const windowQuery = z.object({
  window: parameter(windowValue, { expected: windowExpected, fallback: '1h' }).describe(
    'Length of the current window, 1m to 30d. The sparkline has 24 such windows.',
  ),
})

export const alertStates = ['active', 'firing', 'pending', 'resolved', 'all'] as const
export type AlertStateFilter = (typeof alertStates)[number]

/** `state` of `GET /v1/alerts` (an empty one is refused, not the default). */
export const alertStateQuery = z.object({
  state: parameter(z.enum(alertStates), {
    expected: `one of ${alertStates.join(', ')}`,
    fallback: 'active',
    emptyIsValue: true,
  }).describe('active (pending and firing), firing, pending, resolved or all.'),
})

/** The `where` filters: `dimension:value` pairs, comma-separated or repeated, each of `dimensions`. */
function whereParameter(dimensions: readonly string[], dimensionList: string) {
  const list = (value: unknown) =>
    value === undefined ? undefined : (Array.isArray(value) ? value : [value]).map((item) => String(item))
  return z.preprocess(
    list,
    z
      .array(z.string())
      .transform((values, payload) => {
        const where: Record<string, string> = {}
        const fail = (message: string) => payload.issues.push(problemIssue(undefined, message, values))
        for (const item of values.flatMap((value) => value.split(','))) {
          if (item.trim() === '') continue
          const separator = item.indexOf(':')
          const name = separator > 0 ? item.slice(0, separator).trim() : ''
          const value = separator > 0 ? item.slice(separator + 1).trim() : ''
          if (name === '' || value === '')
            fail(`expected dimension:value pairs separated by commas, got ${quote(item)}`)
          else if (!dimensions.includes(name))
            fail(`expected one of the CPI's dimensions: ${dimensionList}, got ${quote(name)}`)
          else where[name] = value
        }
        return where
      })
      .prefault([]),
  )
}

/**
 * `GET /v1/cpis/{name}` of a CPI with `dimensions`: from/to (default the last hour), step
 * (absent: one window for the range), by (one of the dimensions), where (`dimension:value`).
 */
export function seriesQuery(dimensions: readonly string[], now: () => number) {
  const dimensionList = dimensions.length === 0 ? 'none (this CPI has no dimensions)' : dimensions.join(', ')
  const fields = {
    from: time('now-6h', 'ISO 8601 time, epoch ms, now or now-<duration> (default: to − 1h).'),
    to: time('now-6h', 'Same forms (default now).'),
    step: parameter(duration({ min: seriesLimits.minStepMs, wholeSeconds: true }), {
      expected: 'a whole number of seconds such as 30s, 5m, 1h or 1d',
    }).describe('Window length: 30s, 5m, 1h, 1d … (at most 10 000 windows).'),
    by: parameter(
      z.string().refine((name) => dimensions.includes(name)),
      { expected: `one of the CPI's dimensions: ${dimensionList}` },
    ).describe("One of the CPI's dimensions: one series per value."),
    where: whereParameter(dimensions, dimensionList).describe(
      'dimension:value filters, comma-separated or repeated.',
    ),
  }
  return queryObject({
    fields,
    refuse: 'one of from, to, step, by, where',
    order: ['*', 'to', 'from', 'step', 'by', 'where'],
    finish: (query, report) => {
      const { from, to } = timeRange(query, now(), 3_600_000, report)
      const stepMs = query.step
      if (stepMs !== undefined && from < to && (to - from) / stepMs > seriesLimits.maxWindows)
        report(
          'step',
          `expected at most ${seriesLimits.maxWindows} windows in the range, got ${Math.ceil((to - from) / stepMs)} (a larger step or a shorter range)`,
        )
      return { from, to, stepMs, by: query.by, where: query.where }
    },
  })
}

export type SeriesParameters = z.output<ReturnType<typeof seriesQuery>>

/** The design parameters of `GET /v1/analytics/experiments`. */
const designFields = {
  experiment: parameter(z.string().regex(/^[\w.:-]{1,128}$/), {
    expected: 'an experiment id (letters, digits, _ . : -, at most 128)',
  }).describe('Only this experiment id.'),
  mde: parameter(z.number().gt(0).lt(1), {
    expected: 'an absolute change of the rate between 0 and 1 such as 0.02',
    read: decimal,
    fallback: 0.02,
  }).describe('Minimum detectable effect: the absolute change of a rate the experiment is sized for.'),
  alpha: parameter(z.number().gt(0).lte(0.2), {
    expected: 'a significance level in (0, 0.2]',
    read: decimal,
    fallback: 0.05,
  }).describe('Two-sided significance level, (0, 0.2].'),
  power: parameter(z.number().gte(0.5).lt(1), {
    expected: 'a power in [0.5, 1)',
    read: decimal,
    fallback: 0.8,
  }).describe('Power, [0.5, 1).'),
}

/**
 * `GET /v1/analytics/*`: from/to over the interactions' cohort (default the last 30 days);
 * experiments also take `experiment` (one id), `mde` (the absolute change the experiment is
 * sized for, default 0.02), `alpha` (default 0.05) and `power` (default 0.8).
 */
export function analyticsQuery(
  now: () => number,
  options: { experiments?: boolean } = {},
): z.ZodType<AnalyticsParameters> {
  const range = {
    from: time('now-30d', 'Interactions whose first event is at or after this time (default now-30d).'),
    to: time('now-30d', 'Interactions whose first event is before this time (default now).'),
  }
  const order = ['*', 'to', 'from', 'experiment', 'mde', 'alpha', 'power']
  const finish = (query: AnalyticsTexts, report: Report): AnalyticsParameters => ({
    ...timeRange(query, now(), 30 * DAY, report),
    experiment: query.experiment,
    minimumDetectableEffect: query.mde ?? 0.02,
    alpha: query.alpha ?? 0.05,
    power: query.power ?? 0.8,
  })
  return options.experiments
    ? queryObject({ fields: { ...range, ...designFields }, refuse: `one of ${allNames}`, order, finish })
    : queryObject({ fields: range, refuse: 'one of from, to', order, finish })
}

const allNames = ['from', 'to', ...Object.keys(designFields)].join(', ')

/** What the analytics parameters read as: the texts of the times, the design's values. */
interface AnalyticsTexts {
  from?: string | undefined
  to?: string | undefined
  experiment?: string | undefined
  mde?: number | undefined
  alpha?: number | undefined
  power?: number | undefined
}

export interface AnalyticsParameters {
  from: number
  to: number
  /** Experiments only. */
  experiment: string | undefined
  minimumDetectableEffect: number
  alpha: number
  power: number
}

/** `window` of the index and the scorecards (1m to 30d, default 1d), and no other parameter. */
export const analyticsWindowQuery = queryObject({
  fields: {
    window: parameter(windowValue, { expected: windowExpected, fallback: '1d' }).describe(
      'Window length, 1m to 30d.',
    ),
  },
  refuse: 'window',
  order: ['window', '*'],
  finish: (query) => query.window,
})

/**
 * `GET /v1/breaching`: `within` (how far ahead a deadline may be, 1m–7d, default 15m), `cpi` (one
 * of `cpis`, the CPIs with deadlines) and `limit` (1–1,000 interactions listed, default 100).
 */
export function breachingQuery(cpis: readonly string[]) {
  const fields = {
    within: parameter(duration({ min: 60_000, max: 7 * DAY }), {
      expected: 'a duration from 1m to 7d such as 15m or 2h',
      fallback: '15m',
    }).describe('How far ahead a deadline may be: a duration from 1m to 7d.'),
    cpi: parameter(
      z.string().refine((name) => cpis.includes(name)),
      { expected: `a CPI with a deadline (${cpis.join(', ') || 'none in the catalog'})` },
    ).describe('One latency CPI of the catalog (default: all of them).'),
    limit: parameter(z.number().int().min(1).max(1000), {
      expected: 'an integer from 1 to 1000',
      read: decimal,
      fallback: 100,
    }).describe('Interactions listed, 1–1000; `total` and `counts` count them all.'),
  }
  return queryObject({
    fields,
    refuse: 'within, cpi or limit',
    finish: (query) => ({ withinMs: query.within, cpi: query.cpi, limit: query.limit }),
    order: ['within', 'cpi', 'limit', '*'],
  })
}

export type BreachingParameters = z.output<ReturnType<typeof breachingQuery>>

/**
 * A page position of `GET /v1/customers/{id}/value`: the last credit shown, by its place in the
 * order (time, then the identity: source, id and subject). Base64url JSON `[at, source, id, subject]`.
 */
export interface CreditPosition {
  at: number
  source: string
  id: string
  subject: string
}

/** The longest source, id and subject an event carries (the event contract's envelope). */
const cursorParts = { source: 1024, id: 256, subject: 256 } as const

export const encodeCursor = (position: CreditPosition) =>
  Buffer.from(JSON.stringify([position.at, position.source, position.id, position.subject])).toString(
    'base64url',
  )

const cursorPart = (value: unknown, maximum: number): value is string =>
  typeof value === 'string' && value.length <= maximum

/** The position a cursor holds; undefined for anything this API did not give (a time past the safe integers, a part too long). */
export function decodeCursor(text: string): CreditPosition | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    if (
      Array.isArray(value) &&
      value.length === 4 &&
      Number.isSafeInteger(value[0]) &&
      (value[0] as number) >= 0 &&
      cursorPart(value[1], cursorParts.source) &&
      cursorPart(value[2], cursorParts.id) &&
      cursorPart(value[3], cursorParts.subject)
    )
      return { at: value[0] as number, source: value[1], id: value[2], subject: value[3] }
  } catch {
    // not a cursor this API gave: reported below
  }
  return undefined
}

/**
 * `GET /v1/customers/{id}/value`: `from` and `to` (default: the whole relationship), `kind` (one
 * of `kinds`), `limit` (credits listed, 1–100, default 20) and `cursor` (from the previous page).
 */
export function customerValueQuery<K extends string>(kinds: readonly [K, ...K[]], now: () => number) {
  const fields = {
    from: time('now-90d', 'Credits at or after this time (default: from the first).'),
    to: time('now', 'Credits before this time (default: up to the newest).'),
    kind: parameter(z.enum(kinds), { expected: `one of ${kinds.join(', ')}` }).describe(
      'Only credits of this kind.',
    ),
    limit: parameter(z.number().int().min(1).max(100), {
      expected: 'an integer from 1 to 100',
      read: decimal,
      fallback: 20,
    }).describe('Credits listed, 1–100; `totals` count them all.'),
    cursor: parameter(
      z.string().refine((text) => decodeCursor(text) !== undefined),
      { expected: 'the nextCursor of a previous answer' },
    ).describe('The `nextCursor` of the previous page.'),
  }
  return queryObject({
    fields,
    refuse: 'from, to, kind, limit or cursor',
    order: ['from', 'to', 'kind', 'limit', 'cursor', '*'],
    finish: (query, report) => {
      const at = now()
      const from = query.from === undefined ? undefined : (parseTime(query.from, at) as number)
      const to = query.to === undefined ? undefined : (parseTime(query.to, at) as number)
      if (from !== undefined && to !== undefined && from >= to)
        report('from', `expected a time before to, got ${quote(query.from)}`)
      return {
        from,
        to,
        kind: query.kind,
        limit: query.limit,
        before: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      }
    },
  })
}

export type CustomerValueParameters = z.output<ReturnType<typeof customerValueQuery>>
