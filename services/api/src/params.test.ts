import { valueKinds } from '@cpi/schemas'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import {
  alertStateQuery,
  analyticsQuery,
  analyticsWindowQuery,
  breachingQuery,
  customerValueQuery,
  decodeCursor,
  encodeCursor,
  formatDuration,
  type ParameterProblem,
  parseDuration,
  parseTime,
  type SeriesParameters,
  seriesQuery,
  windowQuery,
} from './params.ts'
import { problemsOf } from './route.ts'

type Parsed<T> = { ok: true; value: T } | { ok: false; problems: ParameterProblem[] }

/** A query as the route layer parses it: its value, or its problems as the 400 lists them. */
function parse<T>(schema: z.ZodType<T>, query: Record<string, unknown>): Parsed<T> {
  const parsed = schema.safeParse(query)
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problems: problemsOf(parsed.error) }
}

/** The parsed value of one field of the query, or its problems. */
function field<T, K extends keyof T>(parsed: Parsed<T>, key: K): Parsed<T[K]> {
  return parsed.ok ? { ok: true, value: parsed.value[key] } : parsed
}

const parseWindow = (query: Record<string, unknown>) => field(parse(windowQuery, query), 'window')
const parseAlertState = (query: Record<string, unknown>) => field(parse(alertStateQuery, query), 'state')
const parseAnalyticsParameters = (
  query: Record<string, unknown>,
  now: number,
  options: { experiments?: boolean } = {},
) =>
  parse(
    analyticsQuery(() => now, options),
    query,
  )
const parseAnalyticsWindow = (query: Record<string, unknown>) => parse(analyticsWindowQuery, query)
const parseBreachingParameters = (query: Record<string, unknown>, cpis: readonly string[]) =>
  parse(breachingQuery(cpis), query)

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const NOW = Date.parse('2026-11-22T10:00:00Z')
const DIMENSIONS = ['channel', 'region']

const series = (query: Record<string, unknown>, dimensions: readonly string[] = DIMENSIONS) =>
  parse(
    seriesQuery(dimensions, () => NOW),
    query,
  )

function value<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new Error(`expected success, got ${JSON.stringify(parsed.problems)}`)
  return parsed.value
}

function problems(parsed: Parsed<unknown>) {
  if (parsed.ok) throw new Error(`expected problems, got ${JSON.stringify(parsed.value)}`)
  return parsed.problems
}

describe('parseDuration and formatDuration', () => {
  it('parses every unit to milliseconds', () => {
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('5m')).toBe(5 * MIN)
    expect(parseDuration('1h')).toBe(HOUR)
    expect(parseDuration('7d')).toBe(7 * DAY)
    expect(parseDuration('2w')).toBe(14 * DAY)
  })

  it('refuses what is not a whole number and a unit', () => {
    for (const text of ['', '5', 'm', '1.5h', '-5m', '5 m', '5M', '1y', ' 5m', '5mins'])
      expect(parseDuration(text), text).toBeUndefined()
  })

  it('formats with the largest unit that divides exactly', () => {
    expect(formatDuration(28 * DAY)).toBe('28d')
    expect(formatDuration(14 * DAY)).toBe('14d')
    expect(formatDuration(30 * DAY)).toBe('30d')
    expect(formatDuration(90 * MIN)).toBe('90m')
    expect(formatDuration(HOUR)).toBe('1h')
    expect(formatDuration(1500)).toBe('1500ms')
    expect(formatDuration(0)).toBe('0ms')
  })

  it('round-trips: formatting then parsing gives the same milliseconds', () => {
    for (const ms of [1, 999, 1000, 61_000, 5 * MIN, 90 * MIN, HOUR, 25 * HOUR, DAY, 10 * DAY, 28 * DAY])
      expect(parseDuration(formatDuration(ms)), String(ms)).toBe(ms)
    for (const text of ['30s', '5m', '1h', '1d', '28d', '250ms'])
      expect(formatDuration(parseDuration(text) as number)).toBe(text)
  })
})

describe('parseTime', () => {
  it('reads now and now-<duration> relative to the clock given', () => {
    expect(parseTime('now', NOW)).toBe(NOW)
    expect(parseTime('now-6h', NOW)).toBe(NOW - 6 * HOUR)
    expect(parseTime('now-30s', NOW)).toBe(NOW - 30_000)
    expect(parseTime('now-6', NOW)).toBeUndefined()
    expect(parseTime('now+6h', NOW)).toBeUndefined()
  })

  it('reads ISO 8601 times with Z or an offset', () => {
    expect(parseTime('2026-11-22T10:00:00Z', NOW)).toBe(NOW)
    expect(parseTime('2026-11-22T10:00Z', NOW)).toBe(NOW)
    expect(parseTime('2026-11-22T12:00:00+02:00', NOW)).toBe(NOW)
    expect(parseTime('2026-11-22T05:30:00-04:30', NOW)).toBe(NOW)
    expect(parseTime('2026-11-22T10:00:00.250Z', NOW)).toBe(NOW + 250)
  })

  it('reads epoch milliseconds', () => {
    expect(parseTime(String(NOW), 0)).toBe(NOW)
    expect(parseTime('1700000000000', 0)).toBe(1_700_000_000_000)
    // Epoch seconds are refused rather than read as a date in January 1970.
    expect(parseTime('1795334400', 0)).toBeUndefined()
  })

  it('refuses a date without a time or zone, words, and impossible dates', () => {
    for (const text of [
      '2026-11-22',
      '2026-11-22T10:00:00',
      'yesterday',
      'today',
      '',
      '2026-13-01T10:00:00Z',
      '2026-11-22T25:00:00Z',
      // Date.parse alone would roll these over into March and December.
      '2026-02-30T10:00:00Z',
      '2026-11-31T10:00:00Z',
    ])
      expect(parseTime(text, NOW), text).toBeUndefined()
    // A leap day exists in a leap year only.
    expect(parseTime('2028-02-29T00:00:00Z', NOW)).toBe(Date.UTC(2028, 1, 29))
    expect(parseTime('2026-02-29T00:00:00Z', NOW)).toBeUndefined()
  })
})

describe('parseSeriesParameters', () => {
  it('defaults to the last hour as one window, no grouping, no filter', () => {
    expect(value(series({}))).toEqual({
      from: NOW - HOUR,
      to: NOW,
      stepMs: undefined,
      by: undefined,
      where: {},
    })
    // Empty values count as absent.
    expect(value(series({ from: '', to: '', step: '', by: '' }))).toEqual(value(series({})))
  })

  it('takes from, to, step and by, and from defaults to an hour before to', () => {
    const parsed = value(series({ from: 'now-6h', to: 'now-1h', step: '5m', by: 'channel' }))
    expect(parsed).toEqual({
      from: NOW - 6 * HOUR,
      to: NOW - HOUR,
      stepMs: 5 * MIN,
      by: 'channel',
      where: {},
    } satisfies SeriesParameters)
    expect(value(series({ to: '2026-11-21T00:00:00Z' })).from).toBe(Date.parse('2026-11-20T23:00:00Z'))
  })

  it('accepts access_token (EventSource) without complaint', () => {
    expect(series({ access_token: 'secret' }).ok).toBe(true)
  })

  it('names a bad from and says what was expected and what came', () => {
    expect(problems(series({ from: 'yesterday' }))).toEqual([
      {
        parameter: 'from',
        message: expect.stringMatching(/^expected an ISO 8601 time with a zone .*, got "yesterday"$/),
      },
    ])
    expect(problems(series({ to: '2026-11-22' }))).toEqual([
      { parameter: 'to', message: expect.stringMatching(/got "2026-11-22"$/) },
    ])
  })

  it('refuses from at or after to', () => {
    expect(problems(series({ from: 'now', to: 'now' }))).toEqual([
      { parameter: 'from', message: 'expected a time before to, got "now"' },
    ])
    expect(problems(series({ from: 'now-1h', to: 'now-2h' }))[0]?.parameter).toBe('from')
  })

  it('refuses a range longer than 400 days, and accepts exactly 400', () => {
    expect(series({ from: 'now-400d' }).ok).toBe(true)
    expect(problems(series({ from: 'now-401d' }))).toEqual([
      { parameter: 'from', message: 'expected a range of at most 400d, got 401d' },
    ])
  })

  it('refuses a step that is not a duration or not whole seconds of at least one', () => {
    for (const step of ['5', 'often', '500ms', '1500ms', '0s'])
      expect(problems(series({ step })), step).toEqual([
        {
          parameter: 'step',
          message: `expected a whole number of seconds such as 30s, 5m, 1h or 1d, got "${step}"`,
        },
      ])
    expect(value(series({ step: '2000ms' })).stepMs).toBe(2000)
  })

  it('refuses more than 10 000 windows, and accepts exactly 10 000', () => {
    // 10 000 minutes = 6d 22h 40m.
    expect(value(series({ from: `now-${10_000}m`, step: '1m' })).stepMs).toBe(MIN)
    expect(problems(series({ from: `now-${10_001}m`, step: '1m' }))).toEqual([
      {
        parameter: 'step',
        message: 'expected at most 10000 windows in the range, got 10001 (a larger step or a shorter range)',
      },
    ])
    expect(problems(series({ from: 'now-7d', step: '30s' }))[0]?.message).toMatch(/got 20160 /)
  })

  it('refuses a by that is not a dimension, listing the dimensions', () => {
    expect(problems(series({ by: 'carrier' }))).toEqual([
      { parameter: 'by', message: `expected one of the CPI's dimensions: channel, region, got "carrier"` },
    ])
    expect(problems(series({ by: 'channel' }, []))).toEqual([
      {
        parameter: 'by',
        message: `expected one of the CPI's dimensions: none (this CPI has no dimensions), got "channel"`,
      },
    ])
  })

  it('reads where as comma-separated pairs, repeated, or both, trimming spaces', () => {
    expect(value(series({ where: 'channel:web, region:eu-west' })).where).toEqual({
      channel: 'web',
      region: 'eu-west',
    })
    expect(value(series({ where: ['channel:web', 'region:eu'] })).where).toEqual({
      channel: 'web',
      region: 'eu',
    })
    // A value may hold a colon; trailing commas are ignored.
    expect(value(series({ where: ['region:eu:west,', 'channel:phone'] })).where).toEqual({
      region: 'eu:west',
      channel: 'phone',
    })
  })

  it('refuses a malformed where pair and a where on an unknown dimension', () => {
    for (const item of ['channel', ':web', 'channel:', 'channel: '])
      expect(problems(series({ where: item })), item).toEqual([
        { parameter: 'where', message: `expected dimension:value pairs separated by commas, got "${item}"` },
      ])
    expect(problems(series({ where: 'channel:web,carrier:ups' }))).toEqual([
      { parameter: 'where', message: `expected one of the CPI's dimensions: channel, region, got "carrier"` },
    ])
  })

  it('refuses unknown parameters by name', () => {
    expect(problems(series({ form: 'now-1h' }))).toEqual([
      { parameter: 'form', message: 'expected one of from, to, step, by, where, got "form"' },
    ])
  })

  it('reports every problem at once, each naming its parameter', () => {
    const found = problems(
      series({ from: 'yesterday', step: 'often', by: 'carrier', where: 'x', limit: '5' }),
    )
    expect(found.map((problem) => problem.parameter).sort()).toEqual(['by', 'from', 'limit', 'step', 'where'])
    for (const problem of found) expect(problem.message).toMatch(/^expected .+, got .+/)
  })

  it('lists problems as the 400 always has: unknown names, to, from, step, by, then each where item', () => {
    const found = problems(
      series({ where: 'foo:1,bad,channel:x', by: 'colour', from: 'now+1h', to: 'x', step: '1x', form: '1' }),
    )
    expect(found.map((problem) => problem.parameter)).toEqual([
      'form',
      'to',
      'from',
      'step',
      'by',
      'where',
      'where',
    ])
    expect(found.slice(-2).map((problem) => problem.message)).toEqual([
      `expected one of the CPI's dimensions: channel, region, got "foo"`,
      'expected dimension:value pairs separated by commas, got "bad"',
    ])
    // A bad to falls back to now, and the range is still checked against it.
    expect(problems(series({ to: 'x', from: '2030-01-01T00:00:00Z' }))).toEqual([
      { parameter: 'to', message: expect.stringMatching(/got "x"$/) },
      { parameter: 'from', message: 'expected a time before to, got "2030-01-01T00:00:00Z"' },
    ])
  })

  it('uses the last value when a single-valued parameter is repeated', () => {
    expect(value(series({ step: ['1m', '5m'], by: ['region', 'channel'] }))).toMatchObject({
      stepMs: 5 * MIN,
      by: 'channel',
    })
  })
})

describe('parseWindow', () => {
  it('defaults to one hour', () => {
    expect(parseWindow({})).toEqual({ ok: true, value: HOUR })
    expect(parseWindow({ window: '' })).toEqual({ ok: true, value: HOUR })
  })

  it('accepts 1m to 30d in whole seconds', () => {
    expect(parseWindow({ window: '1m' })).toEqual({ ok: true, value: MIN })
    expect(parseWindow({ window: '15m' })).toEqual({ ok: true, value: 15 * MIN })
    expect(parseWindow({ window: '30d' })).toEqual({ ok: true, value: 30 * DAY })
    expect(parseWindow({ window: '60500ms' })).toEqual(expect.objectContaining({ ok: false }))
  })

  it('refuses shorter, longer and malformed windows, naming window', () => {
    for (const window of ['59s', '2s', '31d', '5w', 'hour', '1.5h'])
      expect(parseWindow({ window }), window).toEqual({
        ok: false,
        problems: [
          {
            parameter: 'window',
            message: `expected a duration from 1m to 30d such as 15m, 1h or 1d, got "${window}"`,
          },
        ],
      })
  })
})

describe('parseAlertState', () => {
  it('defaults to active and accepts each state', () => {
    expect(parseAlertState({})).toEqual({ ok: true, value: 'active' })
    for (const state of ['active', 'firing', 'pending', 'resolved', 'all'])
      expect(parseAlertState({ state })).toEqual({ ok: true, value: state })
  })

  it('refuses another state, listing the accepted ones', () => {
    expect(parseAlertState({ state: 'open' })).toEqual({
      ok: false,
      problems: [
        { parameter: 'state', message: 'expected one of active, firing, pending, resolved, all, got "open"' },
      ],
    })
  })
})

describe('parseAnalyticsParameters', () => {
  it('defaults to the last 30 days and the experiment design 0.02 / 0.05 / 0.8', () => {
    expect(value(parseAnalyticsParameters({}, NOW))).toEqual({
      from: NOW - 30 * DAY,
      to: NOW,
      experiment: undefined,
      minimumDetectableEffect: 0.02,
      alpha: 0.05,
      power: 0.8,
    })
  })

  it('reads times, an experiment id and the design', () => {
    const parsed = value(
      parseAnalyticsParameters(
        {
          from: 'now-90d',
          to: '2026-11-01T00:00:00Z',
          experiment: 'fastquote-routing',
          mde: '0.05',
          alpha: '0.01',
          power: '0.9',
        },
        NOW,
        { experiments: true },
      ),
    )
    expect(parsed).toEqual({
      from: NOW - 90 * DAY,
      to: Date.parse('2026-11-01T00:00:00Z'),
      experiment: 'fastquote-routing',
      minimumDetectableEffect: 0.05,
      alpha: 0.01,
      power: 0.9,
    })
  })

  it('names every bad parameter at once', () => {
    const found = problems(
      parseAnalyticsParameters(
        { from: 'yesterday', mde: '1.5', alpha: '0.5', power: 'high', experiment: 'a b', colour: 'red' },
        NOW,
        { experiments: true },
      ),
    )
    expect(found.map((problem) => problem.parameter).sort()).toEqual([
      'alpha',
      'colour',
      'experiment',
      'from',
      'mde',
      'power',
    ])
    expect(found.find((problem) => problem.parameter === 'mde')?.message).toBe(
      'expected an absolute change of the rate between 0 and 1 such as 0.02, got "1.5"',
    )
  })

  it('takes the design only for experiments, and refuses an empty or reversed range', () => {
    expect(problems(parseAnalyticsParameters({ mde: '0.1' }, NOW))).toEqual([
      { parameter: 'mde', message: 'expected one of from, to, got "mde"' },
    ])
    expect(problems(parseAnalyticsParameters({ from: 'now', to: 'now-1d' }, NOW))[0]?.parameter).toBe('from')
    expect(problems(parseAnalyticsParameters({ from: 'now-500d' }, NOW))[0]?.message).toBe(
      'expected a range of at most 400d, got 500d',
    )
  })

  it('refuses numbers that are not plain decimals', () => {
    for (const mde of ['0x1', '1e', '', ' 0.1', 'Infinity'])
      expect(parseAnalyticsParameters({ mde }, NOW, { experiments: true }).ok, mde).toBe(mde === '')
  })
})

describe('parseAnalyticsWindow', () => {
  it('defaults to 1d (also when empty) and names a bad window or another parameter', () => {
    expect(parseAnalyticsWindow({})).toEqual({ ok: true, value: DAY })
    expect(parseAnalyticsWindow({ window: '' })).toEqual({ ok: true, value: DAY })
    expect(parseAnalyticsWindow({ window: '6h', access_token: 't' })).toEqual({ ok: true, value: 6 * HOUR })
    expect(problems(parseAnalyticsWindow({ window: '31d', step: '1h' })).map((p) => p.parameter)).toEqual([
      'window',
      'step',
    ])
  })
})

describe('breach queue parameters', () => {
  const cpis = ['fast_quote', 'first_reply_2h']

  it('default to 15 minutes ahead, every CPI with a deadline, 100 listed', () => {
    expect(parseBreachingParameters({}, cpis)).toEqual({
      ok: true,
      value: { withinMs: 15 * 60_000, cpi: undefined, limit: 100 },
    })
    expect(parseBreachingParameters({ within: '2h', cpi: 'fast_quote', limit: '1000' }, cpis)).toEqual({
      ok: true,
      value: { withinMs: 7_200_000, cpi: 'fast_quote', limit: 1000 },
    })
  })

  it('name each bad parameter with what was expected and what came', () => {
    const parsed = parseBreachingParameters({ within: '8d', cpi: 'csat', limit: '1.5', soon: 'yes' }, cpis)
    expect(parsed).toEqual({
      ok: false,
      problems: [
        { parameter: 'within', message: 'expected a duration from 1m to 7d such as 15m or 2h, got "8d"' },
        {
          parameter: 'cpi',
          message: 'expected a CPI with a deadline (fast_quote, first_reply_2h), got "csat"',
        },
        { parameter: 'limit', message: 'expected an integer from 1 to 1000, got "1.5"' },
        { parameter: 'soon', message: 'expected within, cpi or limit, got "soon"' },
      ],
    })
    expect(parseBreachingParameters({ within: '30s' }, cpis).ok).toBe(false)
  })
})

describe('customer value parameters', () => {
  const customerValue = (query: Record<string, unknown>) =>
    parse(
      customerValueQuery(valueKinds, () => NOW),
      query,
    )
  const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const position = { at: NOW - HOUR, source: 'billing', id: 'credit-1', subject: 'credit-1' }

  it('default to the whole relationship, every kind, 20 listed, the first page', () => {
    expect(customerValue({})).toEqual({
      ok: true,
      value: { from: undefined, to: undefined, kind: undefined, limit: 20, before: undefined },
    })
  })

  it('read a range, a kind of the event contract, a limit and a cursor back as the position it holds', () => {
    const parsed = value(
      customerValue({
        from: 'now-7d',
        to: 'now',
        kind: 'usage',
        limit: '100',
        cursor: encodeCursor(position),
      }),
    )
    expect(parsed).toEqual({ from: NOW - 7 * DAY, to: NOW, kind: 'usage', limit: 100, before: position })
    for (const kind of valueKinds) expect(value(customerValue({ kind })).kind).toBe(kind)
  })

  it('keep credits that share a time and an id apart by source (and subject) in the cursor', () => {
    const other = { ...position, source: 'shop' }
    expect(decodeCursor(encodeCursor(other))).toEqual(other)
    expect(encodeCursor(other)).not.toBe(encodeCursor(position))
  })

  it('name each bad parameter with what was expected and what came', () => {
    expect(
      problems(customerValue({ from: 'now', to: 'now-1d', kind: 'gifts', limit: '101', cursor: 'x' })),
    ).toEqual([
      { parameter: 'from', message: 'expected a time before to, got "now"' },
      { parameter: 'kind', message: 'expected one of savings, usage, outcome, got "gifts"' },
      { parameter: 'limit', message: 'expected an integer from 1 to 100, got "101"' },
      { parameter: 'cursor', message: 'expected the nextCursor of a previous answer, got "x"' },
    ])
  })

  it('refuse a crafted cursor: a time past the safe integers, negative or fractional, parts too long, another shape', () => {
    const crafted = [
      [1e20, 'billing', 'credit-1', 'credit-1'],
      [-1, 'billing', 'credit-1', 'credit-1'],
      [1.5, 'billing', 'credit-1', 'credit-1'],
      ['1', 'billing', 'credit-1', 'credit-1'],
      [NOW, 'b'.repeat(1025), 'credit-1', 'credit-1'],
      [NOW, 'billing', 'c'.repeat(257), 'credit-1'],
      [NOW, 'billing', 'credit-1', 's'.repeat(257)],
      [NOW, 'billing', 'credit-1'],
      [NOW, 'credit-1'],
      { at: NOW, source: 'billing', id: 'credit-1', subject: 'credit-1' },
      [NOW, 'billing', 7, 'credit-1'],
    ]
    for (const cursor of crafted) {
      const text = cursorOf(cursor)
      expect(decodeCursor(text), JSON.stringify(cursor)).toBeUndefined()
      expect(problems(customerValue({ cursor: text }))).toEqual([
        { parameter: 'cursor', message: `expected the nextCursor of a previous answer, got "${text}"` },
      ])
    }
    // The longest parts an event carries still make a cursor.
    const longest = {
      at: Number.MAX_SAFE_INTEGER,
      source: 'b'.repeat(1024),
      id: 'c'.repeat(256),
      subject: 's'.repeat(256),
    }
    expect(value(customerValue({ cursor: encodeCursor(longest) })).before).toEqual(longest)
  })
})
