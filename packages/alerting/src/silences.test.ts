import { describe, expect, it } from 'vitest'
import { isSilenced, parseSilence, type Silence } from './silences.ts'

const H = 3_600_000
const NOW = Date.parse('2026-11-22T10:00:00Z')

const valid = {
  matchers: [{ name: 'cpi', value: 'fast_quote' }],
  duration: '2h',
  createdBy: 'ops@example.com',
  comment: 'Quoting service maintenance',
}

/** The errors of an invalid request, as `path: message`. */
function errorsOf(input: unknown): string[] {
  const result = parseSilence(input, NOW)
  if (result.ok) throw new Error('expected the request to be refused')
  return result.errors.map((error) => `${error.path}: ${error.message}`)
}

describe('parseSilence', () => {
  it('accepts a duration, starting now', () => {
    expect(parseSilence(valid, NOW)).toEqual({
      ok: true,
      silence: {
        matchers: [{ name: 'cpi', value: 'fast_quote' }],
        startsAt: NOW,
        endsAt: NOW + 2 * H,
        createdBy: 'ops@example.com',
        comment: 'Quoting service maintenance',
      },
    })
  })

  it('accepts RFC 3339 startsAt and endsAt, with offsets, and regex matchers', () => {
    const result = parseSilence(
      {
        matchers: [
          { name: 'cpi', value: 'fast_.*', isRegex: true },
          { name: 'segment', value: 'web', isRegex: false },
        ],
        startsAt: '2026-11-22T12:00:00+01:00',
        endsAt: '2026-11-22T13:30:00.500Z',
        createdBy: '  ops  ',
        comment: 'night window',
      },
      NOW,
    )
    expect(result).toEqual({
      ok: true,
      silence: {
        matchers: [
          { name: 'cpi', value: 'fast_.*', isRegex: true },
          { name: 'segment', value: 'web' },
        ],
        startsAt: NOW + H,
        endsAt: NOW + 3.5 * H + 500,
        createdBy: 'ops',
        comment: 'night window',
      },
    })
  })

  it('counts a duration from a given startsAt', () => {
    const result = parseSilence({ ...valid, startsAt: '2026-11-23T00:00:00Z', duration: '30m' }, NOW)
    expect(result).toMatchObject({ ok: true, silence: { endsAt: Date.parse('2026-11-23T00:30:00Z') } })
  })

  it('refuses a body that is not an object', () => {
    expect(errorsOf(null)).toEqual([': expected an object, got null'])
    expect(errorsOf([valid])).toEqual([': expected an object, got an array'])
  })

  it('names each field that is wrong, with what it expected and what it got, all at once', () => {
    expect(
      errorsOf({
        matchers: [{ name: 'cpi name', value: 'x' }, { name: 'cpi', value: 3 }, 'severity=page'],
        duration: '2 hours',
        createdBy: '',
        endAt: '2026-11-22T12:00:00Z',
      }),
    ).toEqual([
      'endAt: expected one of the fields matchers, startsAt, endsAt, duration, createdBy, comment, got "2026-11-22T12:00:00Z"',
      'matchers[0].name: expected a label name such as cpi, got "cpi name"',
      'matchers[1].value: expected a string, got number 3',
      'matchers[2]: expected a matcher { name, value, isRegex? }, got "severity=page"',
      'duration: expected a duration such as 30m, 2h or 7d, got "2 hours"',
      'createdBy: expected the name of who creates the silence, got ""',
      'comment: expected a comment saying why, got nothing',
    ])
  })

  it('needs at least one matcher, and one that does not match everything', () => {
    expect(errorsOf({ ...valid, matchers: [] })).toEqual([
      'matchers: expected a non-empty array of matchers, got an array',
    ])
    expect(errorsOf({ ...valid, matchers: undefined })).toEqual([
      'matchers: expected a non-empty array of matchers, got nothing',
    ])
    expect(errorsOf({ ...valid, matchers: [{ name: 'cpi', value: '.*', isRegex: true }] })).toEqual([
      'matchers: expected at least one matcher that does not match an empty value, got only catch-all matchers',
    ])
    // One specific matcher beside a catch-all one is fine.
    const mixed = [
      { name: 'cpi', value: '.*', isRegex: true },
      { name: 'severity', value: 'page' },
    ]
    expect(parseSilence({ ...valid, matchers: mixed }, NOW).ok).toBe(true)
  })

  it('refuses a regex matcher that does not compile, and a non-boolean isRegex', () => {
    const [error, ...rest] = errorsOf({
      ...valid,
      matchers: [{ name: 'cpi', value: 'fast_(quote', isRegex: true }],
    })
    expect(rest).toEqual([])
    expect(error).toMatch(
      /^matchers\[0\]\.value: expected a valid regular expression \(.+\), got "fast_\(quote"$/,
    )
    expect(errorsOf({ ...valid, matchers: [{ name: 'cpi', value: 'x', isRegex: 'yes' }] })).toEqual([
      'matchers[0].isRegex: expected true or false, got "yes"',
    ])
    // The same text as a plain value is fine: it is compared, not compiled.
    expect(parseSilence({ ...valid, matchers: [{ name: 'cpi', value: 'fast_(quote' }] }, NOW).ok).toBe(true)
  })

  it('needs exactly one of endsAt and duration', () => {
    expect(errorsOf({ ...valid, duration: undefined })).toEqual([
      'endsAt: expected endsAt (an RFC 3339 time) or duration (such as 2h), got nothing',
    ])
    expect(errorsOf({ ...valid, endsAt: '2026-11-22T12:00:00Z' })).toEqual([
      'duration: expected endsAt or duration, not both, got "2h"',
    ])
    expect(errorsOf({ ...valid, duration: '0m' })).toEqual([
      'duration: expected a duration such as 30m, 2h or 7d, got "0m"',
    ])
  })

  it('needs RFC 3339 times with a zone (a zone-less time would be read as local time)', () => {
    const { duration: _, ...withoutDuration } = valid
    expect(errorsOf({ ...withoutDuration, endsAt: '2026-11-22 12:00' })).toEqual([
      'endsAt: expected an RFC 3339 time such as 2026-11-22T10:00:00Z, got "2026-11-22 12:00"',
    ])
    expect(errorsOf({ ...withoutDuration, endsAt: '2026-11-22T12:00:00' })).toHaveLength(1)
    expect(errorsOf({ ...withoutDuration, endsAt: NOW + H })).toEqual([
      `endsAt: expected an RFC 3339 time such as 2026-11-22T10:00:00Z, got number ${NOW + H}`,
    ])
  })

  it('needs the end after the start, and in the future', () => {
    const { duration: _, ...withoutDuration } = valid
    expect(
      errorsOf({ ...withoutDuration, startsAt: '2026-11-22T12:00:00Z', endsAt: '2026-11-22T12:00:00Z' }),
    ).toEqual([
      'endsAt: expected an end after startsAt 2026-11-22T12:00:00.000Z, got 2026-11-22T12:00:00.000Z',
    ])
    expect(
      errorsOf({ ...withoutDuration, startsAt: '2026-11-22T08:00:00Z', endsAt: '2026-11-22T09:00:00Z' }),
    ).toEqual([
      'endsAt: expected an end in the future (after 2026-11-22T10:00:00.000Z), got 2026-11-22T09:00:00.000Z',
    ])
    // Started in the past, still running: fine.
    expect(
      parseSilence(
        { ...withoutDuration, startsAt: '2026-11-22T08:00:00Z', endsAt: '2026-11-22T11:00:00Z' },
        NOW,
      ).ok,
    ).toBe(true)
  })
})

describe('isSilenced', () => {
  const labels = {
    alertname: 'CpiBurnRate',
    cpi: 'fast_quote',
    dimension: 'channel',
    segment: 'web',
    severity: 'page',
    rule: 'burn_rate',
  }
  const silence = (id: string, matchers: Silence['matchers'], startsAt = NOW, endsAt = NOW + H): Silence => ({
    id,
    matchers,
    startsAt,
    endsAt,
    createdBy: 'ops',
    comment: 'test',
  })

  it('returns the active silences whose every matcher matches', () => {
    const silences = [
      silence('quote', [{ name: 'cpi', value: 'fast_quote' }]),
      silence('quote-web', [
        { name: 'cpi', value: 'fast_quote' },
        { name: 'segment', value: 'web' },
      ]),
      silence('quote-phone', [
        { name: 'cpi', value: 'fast_quote' },
        { name: 'segment', value: 'phone' },
      ]),
      silence('other', [{ name: 'cpi', value: 'nothing_broke' }]),
    ]
    expect(isSilenced(labels, silences, NOW + 1)).toEqual(['quote', 'quote-web'])
  })

  it('anchors regex matchers to the whole value', () => {
    const match = (value: string) =>
      isSilenced(labels, [silence('s', [{ name: 'cpi', value, isRegex: true }])], NOW)
    expect(match('fast_.*')).toEqual(['s'])
    expect(match('fast|slow')).toEqual([])
    expect(match('fast_quote|on_time_in_full')).toEqual(['s'])
    expect(match('quote')).toEqual([])
    // A regex that does not compile matches nothing rather than throwing.
    expect(match('(')).toEqual([])
  })

  it('is active from startsAt (inclusive) to endsAt (exclusive)', () => {
    const silences = [silence('s', [{ name: 'cpi', value: 'fast_quote' }], NOW, NOW + H)]
    expect(isSilenced(labels, silences, NOW - 1)).toEqual([])
    expect(isSilenced(labels, silences, NOW)).toEqual(['s'])
    expect(isSilenced(labels, silences, NOW + H - 1)).toEqual(['s'])
    expect(isSilenced(labels, silences, NOW + H)).toEqual([])
  })

  it('treats a label the alert lacks as empty, and a silence without matchers as matching nothing', () => {
    expect(isSilenced(labels, [silence('s', [{ name: 'team', value: '' }])], NOW)).toEqual(['s'])
    expect(isSilenced(labels, [silence('s', [{ name: 'team', value: 'quoting' }])], NOW)).toEqual([])
    expect(isSilenced(labels, [silence('s', [])], NOW)).toEqual([])
  })
})
