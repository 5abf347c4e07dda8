// Query parameters of the API, parsed without I/O: every problem is reported as
// `<parameter>: expected …, got …` and becomes a 400 naming it.

export interface ParameterProblem {
  parameter: string
  message: string
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: ParameterProblem[] }

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}
const DURATION = /^(\d+)(ms|s|m|h|d|w)$/

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

export interface SeriesParameters {
  from: number
  to: number
  stepMs: number | undefined
  by: string | undefined
  where: Record<string, string>
}

export const seriesLimits = {
  maxWindows: 10_000,
  maxRangeMs: 400 * 86_400_000,
  minStepMs: 1000,
}

const single = (value: unknown): string | undefined => {
  if (value === undefined) return undefined
  if (Array.isArray(value)) return value.length === 0 ? undefined : String(value[value.length - 1])
  return String(value)
}

/**
 * `from` and `to` (default: the `defaultSpanMs` before now), each a time `parseTime` reads; from
 * before to, at most `seriesLimits.maxRangeMs` apart. Problems are added to `problems`.
 */
function parseRange(
  query: Record<string, unknown>,
  now: number,
  defaultSpanMs: number,
  example: string,
  problems: ParameterProblem[],
): { from: number; to: number } {
  const time = (name: 'from' | 'to', fallback: number): number => {
    const text = single(query[name])
    if (text === undefined || text === '') return fallback
    const parsed = parseTime(text, now)
    if (parsed === undefined) {
      problems.push({
        parameter: name,
        message: `expected an ISO 8601 time with a zone (2026-11-22T10:00:00Z), epoch milliseconds, now or now-<duration> (${example}), got ${quote(text)}`,
      })
      return fallback
    }
    return parsed
  }
  const to = time('to', now)
  const from = time('from', to - defaultSpanMs)
  if (from >= to)
    problems.push({
      parameter: 'from',
      message: `expected a time before to, got ${quote(single(query.from))}`,
    })
  else if (to - from > seriesLimits.maxRangeMs)
    problems.push({
      parameter: 'from',
      message: `expected a range of at most 400d, got ${formatDuration(to - from)}`,
    })
  return { from, to }
}

/**
 * `GET /v1/cpis/{name}`: from/to (default the last hour), step (absent: one window for the
 * range), by (one of the CPI's dimensions), where (`dimension:value`, comma-separated or repeated).
 */
export function parseSeriesParameters(
  query: Record<string, unknown>,
  dimensions: readonly string[],
  now: number,
): Parsed<SeriesParameters> {
  const problems: ParameterProblem[] = []
  const known = new Set(['from', 'to', 'step', 'by', 'where', 'access_token'])
  for (const name of Object.keys(query)) {
    if (!known.has(name))
      problems.push({
        parameter: name,
        message: `expected one of from, to, step, by, where, got ${quote(name)}`,
      })
  }
  const { from, to } = parseRange(query, now, 3_600_000, 'now-6h', problems)

  let stepMs: number | undefined
  const stepText = single(query.step)
  if (stepText !== undefined && stepText !== '') {
    stepMs = parseDuration(stepText)
    if (stepMs === undefined || stepMs < seriesLimits.minStepMs || stepMs % 1000 !== 0) {
      problems.push({
        parameter: 'step',
        message: `expected a whole number of seconds such as 30s, 5m, 1h or 1d, got ${quote(stepText)}`,
      })
      stepMs = undefined
    } else if (from < to && (to - from) / stepMs > seriesLimits.maxWindows) {
      problems.push({
        parameter: 'step',
        message: `expected at most ${seriesLimits.maxWindows} windows in the range, got ${Math.ceil((to - from) / stepMs)} (a larger step or a shorter range)`,
      })
    }
  }

  const dimensionList = dimensions.length === 0 ? 'none (this CPI has no dimensions)' : dimensions.join(', ')
  const by = single(query.by) || undefined
  if (by !== undefined && !dimensions.includes(by))
    problems.push({
      parameter: 'by',
      message: `expected one of the CPI's dimensions: ${dimensionList}, got ${quote(by)}`,
    })

  const where: Record<string, string> = {}
  const whereValues =
    query.where === undefined ? [] : Array.isArray(query.where) ? query.where : [query.where]
  for (const item of whereValues.flatMap((value) => String(value).split(','))) {
    if (item.trim() === '') continue
    const separator = item.indexOf(':')
    const name = separator > 0 ? item.slice(0, separator).trim() : ''
    const value = separator > 0 ? item.slice(separator + 1).trim() : ''
    if (name === '' || value === '') {
      problems.push({
        parameter: 'where',
        message: `expected dimension:value pairs separated by commas, got ${quote(item)}`,
      })
    } else if (!dimensions.includes(name)) {
      problems.push({
        parameter: 'where',
        message: `expected one of the CPI's dimensions: ${dimensionList}, got ${quote(name)}`,
      })
    } else {
      where[name] = value
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { from, to, stepMs, by, where } }
}

/** `window` of `GET /v1/cpis`: 1m to 30d, whole seconds. */
export function parseWindow(query: Record<string, unknown>): Parsed<number> {
  const text = single(query.window)
  if (text === undefined || text === '') return { ok: true, value: 3_600_000 }
  const ms = parseDuration(text)
  if (ms === undefined || ms < 60_000 || ms > 30 * 86_400_000 || ms % 1000 !== 0)
    return {
      ok: false,
      problems: [
        {
          parameter: 'window',
          message: `expected a duration from 1m to 30d such as 15m, 1h or 1d, got ${quote(text)}`,
        },
      ],
    }
  return { ok: true, value: ms }
}

export const alertStates = ['active', 'firing', 'pending', 'resolved', 'all'] as const
export type AlertStateFilter = (typeof alertStates)[number]

export function parseAlertState(query: Record<string, unknown>): Parsed<AlertStateFilter> {
  const text = single(query.state) ?? 'active'
  if ((alertStates as readonly string[]).includes(text)) return { ok: true, value: text as AlertStateFilter }
  return {
    ok: false,
    problems: [
      { parameter: 'state', message: `expected one of ${alertStates.join(', ')}, got ${quote(text)}` },
    ],
  }
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

const numberParameter = (
  query: Record<string, unknown>,
  name: string,
  fallback: number,
  check: (value: number) => boolean,
  expected: string,
  problems: ParameterProblem[],
): number => {
  const text = single(query[name])
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!/^-?\d*\.?\d+(e-?\d+)?$/i.test(text) || !check(value)) {
    problems.push({ parameter: name, message: `expected ${expected}, got ${quote(text)}` })
    return fallback
  }
  return value
}

/**
 * `GET /v1/analytics/*`: from/to over the interactions' cohort (default the last 30 days);
 * experiments also take `experiment` (one id), `mde` (the absolute change the experiment is
 * sized for, default 0.02), `alpha` (default 0.05) and `power` (default 0.8).
 */
export function parseAnalyticsParameters(
  query: Record<string, unknown>,
  now: number,
  options: { experiments?: boolean } = {},
): Parsed<AnalyticsParameters> {
  const problems: ParameterProblem[] = []
  const names = options.experiments ? ['from', 'to', 'experiment', 'mde', 'alpha', 'power'] : ['from', 'to']
  for (const name of Object.keys(query)) {
    if (name !== 'access_token' && !names.includes(name))
      problems.push({ parameter: name, message: `expected one of ${names.join(', ')}, got ${quote(name)}` })
  }
  const { from, to } = parseRange(query, now, 30 * 86_400_000, 'now-30d', problems)
  const experiment = single(query.experiment) || undefined
  if (experiment !== undefined && !/^[\w.:-]{1,128}$/.test(experiment))
    problems.push({
      parameter: 'experiment',
      message: `expected an experiment id (letters, digits, _ . : -, at most 128), got ${quote(experiment)}`,
    })
  const minimumDetectableEffect = numberParameter(
    query,
    'mde',
    0.02,
    (v) => v > 0 && v < 1,
    'an absolute change of the rate between 0 and 1 such as 0.02',
    problems,
  )
  const alpha = numberParameter(
    query,
    'alpha',
    0.05,
    (v) => v > 0 && v <= 0.2,
    'a significance level in (0, 0.2]',
    problems,
  )
  const power = numberParameter(
    query,
    'power',
    0.8,
    (v) => v >= 0.5 && v < 1,
    'a power in [0.5, 1)',
    problems,
  )
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, value: { from, to, experiment, minimumDetectableEffect, alpha, power } }
}

/** `window` of the index and the scorecards (1m to 30d, default 1d), and no other parameter. */
export function parseAnalyticsWindow(query: Record<string, unknown>): Parsed<number> {
  const window = parseWindow({ window: single(query.window) || '1d' })
  const problems = window.ok ? [] : [...window.problems]
  for (const name of Object.keys(query))
    if (name !== 'window' && name !== 'access_token')
      problems.push({ parameter: name, message: `expected window, got ${quote(name)}` })
  return window.ok && problems.length === 0 ? window : { ok: false, problems }
}

export interface BreachingParameters {
  withinMs: number
  /** One CPI, or all the latency CPIs. */
  cpi: string | undefined
  limit: number
}

/**
 * `GET /v1/breaching`: `within` (how far ahead a deadline may be, 1m–7d, default 15m), `cpi` (one
 * of `cpis`, the CPIs with deadlines) and `limit` (1–1,000 interactions listed, default 100).
 */
export function parseBreachingParameters(
  query: Record<string, unknown>,
  cpis: readonly string[],
): Parsed<BreachingParameters> {
  const problems: ParameterProblem[] = []
  const withinText = single(query.within)
  let withinMs = 15 * 60_000
  if (withinText !== undefined && withinText !== '') {
    const parsed = parseDuration(withinText)
    if (parsed === undefined || parsed < 60_000 || parsed > 7 * 86_400_000)
      problems.push({
        parameter: 'within',
        message: `expected a duration from 1m to 7d such as 15m or 2h, got ${quote(withinText)}`,
      })
    else withinMs = parsed
  }
  const cpi = single(query.cpi) || undefined
  if (cpi !== undefined && !cpis.includes(cpi))
    problems.push({
      parameter: 'cpi',
      message: `expected a CPI with a deadline (${cpis.join(', ') || 'none in the catalog'}), got ${quote(cpi)}`,
    })
  const limit = numberParameter(
    query,
    'limit',
    100,
    (value) => Number.isInteger(value) && value >= 1 && value <= 1000,
    'an integer from 1 to 1000',
    problems,
  )
  for (const name of Object.keys(query))
    if (!['within', 'cpi', 'limit', 'access_token'].includes(name))
      problems.push({ parameter: name, message: `expected within, cpi or limit, got ${quote(name)}` })
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { withinMs, cpi, limit } }
}
