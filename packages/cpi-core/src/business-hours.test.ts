import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { CatalogError, loadCatalog, parseCatalog } from './catalog.ts'
import { calendarOf, decideInteraction, type InteractionEvent } from './decide.ts'
import type { LatencyDefinition } from './definition.ts'

// A CPI's expectation on business hours (docs/cpi-catalog.md, Business hours): the deadline is the time allowed in
// working time after the start, the latency is working time (wall time beside it). Every
// expected value below is computed by hand from the calendars' hours.

const M = 60_000
const H = 60 * M
const at = (iso: string) => Date.parse(iso)

const berlin = {
  name: 'support_berlin',
  timeZone: 'Europe/Berlin',
  week: {
    mon: [{ from: '09:00', to: '17:00' }],
    tue: [{ from: '09:00', to: '17:00' }],
    wed: [{ from: '09:00', to: '17:00' }],
    thu: [{ from: '09:00', to: '17:00' }],
    fri: [{ from: '09:00', to: '17:00' }],
  },
  holidays: ['2026-12-25'],
}
const newYork = {
  name: 'support_new_york',
  timeZone: 'America/New_York',
  week: {
    mon: [
      { from: '08:00', to: '12:00' },
      { from: '13:00', to: '18:00' },
    ],
    tue: [{ from: '08:00', to: '18:00' }],
    wed: [{ from: '08:00', to: '18:00' }],
    thu: [{ from: '08:00', to: '18:00' }],
    fri: [{ from: '08:00', to: '18:00' }],
  },
}
/** Open only in the small hours of Sunday 2026-03-29, the night Berlin moves its clocks to summer time. */
const nightShift = {
  name: 'night_shift',
  timeZone: 'Europe/Berlin',
  week: { sun: [{ from: '01:00', to: '05:00' }] },
}

const reply = (overrides: Record<string, unknown> = {}) => ({
  name: 'reply_1h',
  displayName: 'Reply within a business hour',
  description: 'A reply within one hour of the support desk’s working time.',
  owner: 'support',
  version: 1,
  shape: 'latency',
  start: { type: 'ticket.opened' },
  completion: [{ type: 'ticket.message', where: { direction: 'outbound' } }],
  expectation: { within: '1h', calendar: 'support_berlin' },
  dimensions: ['region'],
  ...overrides,
})

const catalogOf = (cpi: Record<string, unknown>) =>
  parseCatalog({ calendars: [berlin, newYork, nightShift], cpis: [cpi] })[0] as LatencyDefinition

let serial = 0
const opened = (time: number, data: Record<string, unknown> = { region: 'eu' }): InteractionEvent => ({
  id: `o${serial++}`,
  type: 'ticket.opened',
  time,
  data,
})
const answered = (time: number): InteractionEvent => ({
  id: `a${serial++}`,
  type: 'ticket.message',
  time,
  data: { direction: 'outbound' },
})

describe('an expectation on business hours', () => {
  const cpi = catalogOf(reply())

  it('Friday 16:30 plus one business hour is Monday 09:30', () => {
    const start = at('2026-12-04T15:30:00Z') // Friday 16:30 in Berlin (UTC+1)
    // Monday 09:20: 30 minutes on Friday and 20 on Monday, two days, 16 hours and 50 minutes of wall time.
    expect(
      decideInteraction(
        cpi,
        [opened(start), answered(at('2026-12-07T08:20:00Z'))],
        at('2026-12-08T00:00:00Z'),
      ),
    ).toMatchObject({
      state: 'good',
      latencyMs: 50 * M,
      wallLatencyMs: 2 * 24 * H + 16 * H + 50 * M,
    })
    // Exactly at the deadline is within; a minute after it is not, and is 61 working minutes late.
    expect(
      decideInteraction(
        cpi,
        [opened(start), answered(at('2026-12-07T08:30:00Z'))],
        at('2026-12-08T00:00:00Z'),
      ),
    ).toMatchObject({ state: 'good', latencyMs: 60 * M })
    expect(
      decideInteraction(
        cpi,
        [opened(start), answered(at('2026-12-07T08:31:00Z'))],
        at('2026-12-08T00:00:00Z'),
      ),
    ).toMatchObject({ state: 'bad', latencyMs: 61 * M })
    // Over the weekend it is still pending, to be looked at again just after Monday 09:30.
    expect(decideInteraction(cpi, [opened(start)], at('2026-12-06T12:00:00Z'))).toEqual({
      state: 'pending',
      cohortAt: start,
      segments: { region: 'eu' },
      revisitAt: at('2026-12-07T08:30:00Z') + 1,
    })
  })

  it('skips a holiday: Thursday 24 December 16:30 plus an hour is Monday 28 December 09:30', () => {
    const start = at('2026-12-24T15:30:00Z')
    const pending = decideInteraction(cpi, [opened(start)], at('2026-12-27T00:00:00Z'))
    expect(pending?.revisitAt).toBe(at('2026-12-28T08:30:00Z') + 1)
    // Still unanswered on Tuesday 10:00: late, its wait measured in working time up to the watermark
    // (30 min on Thursday, 8 h on Monday, 1 h on Tuesday), and measured again hourly while the
    // desk is open; at the 17:00 closing (7 more hours), again only when it opens on Wednesday.
    const late = decideInteraction(cpi, [opened(start)], at('2026-12-29T09:00:00Z'))
    expect(late).toEqual({
      state: 'bad',
      status: 'final',
      cohortAt: start,
      segments: { region: 'eu' },
      latencyMs: 9 * H + 30 * M,
      wallLatencyMs: at('2026-12-29T09:00:00Z') - start,
      revisitAt: at('2026-12-29T10:00:00Z'),
    })
    expect(decideInteraction(cpi, [opened(start)], at('2026-12-29T16:00:00Z'))).toMatchObject({
      latencyMs: 16 * H + 30 * M,
      revisitAt: at('2026-12-30T08:00:00Z'),
    })
  })

  it('counts the real length of a working period across a change to summer time', () => {
    const night = catalogOf(reply({ expectation: { within: '2h', calendar: 'night_shift' } }))
    const start = at('2026-03-29T00:30:00Z') // 01:30 in Berlin; 02:00 jumps to 03:00
    // 01:30–02:00 is 30 minutes, 03:00–04:30 the other 90: the deadline is 04:30 summer time.
    expect(decideInteraction(night, [opened(start)], start)?.revisitAt).toBe(at('2026-03-29T02:30:00Z') + 1)
    // The night's 01:00–05:00 holds three real hours, not four: three hours from 01:30 need
    // 01:30–02:00 and 03:00–05:00 (2 h 30) and half an hour of the next Sunday (01:00–01:30
    // summer time), where wall time would have said 04:30 the same night.
    const three = catalogOf(reply({ expectation: { within: '3h', calendar: 'night_shift' } }))
    expect(decideInteraction(three, [opened(start)], start)?.revisitAt).toBe(at('2026-04-04T23:30:00Z') + 1)
    // Answered at 04:00 summer time: an hour and a half of working time and of wall time alike;
    // at 05:30 summer time, still 2 h 30 of working time against 3 h of wall time.
    expect(
      decideInteraction(
        night,
        [opened(start), answered(at('2026-03-29T02:00:00Z'))],
        at('2026-03-30T00:00:00Z'),
      ),
    ).toMatchObject({ state: 'good', latencyMs: 90 * M, wallLatencyMs: 90 * M })
    expect(
      decideInteraction(
        three,
        [opened(start), answered(at('2026-03-29T03:30:00Z'))],
        at('2026-03-30T00:00:00Z'),
      ),
    ).toMatchObject({ state: 'good', latencyMs: 150 * M, wallLatencyMs: 180 * M })
  })

  it('takes the calendar of the start event’s segment, the rules’ times on it too, and wall time for the rest', () => {
    const byRegion = catalogOf(
      reply({
        expectation: {
          within: '1h',
          rules: [{ when: { priority: 'urgent' }, within: '15m' }],
          calendar: { field: 'region', calendars: { eu: 'support_berlin', us: 'support_new_york' } },
        },
      }),
    )
    // New York, Monday 11:30 (UTC-5): 30 minutes to noon, lunch, 30 more from 13:00: 13:30.
    const us = opened(at('2026-12-07T16:30:00Z'), { region: 'us' })
    expect(decideInteraction(byRegion, [us], us.time)?.revisitAt).toBe(at('2026-12-07T18:30:00Z') + 1)
    expect(calendarOf(byRegion, { region: 'us' })?.name).toBe('support_new_york')
    // An urgent one in Berlin, Friday 16:50: 10 minutes on Friday, 5 on Monday: Monday 09:05.
    const urgent = opened(at('2026-12-04T15:50:00Z'), { region: 'eu', priority: 'urgent' })
    expect(decideInteraction(byRegion, [urgent], urgent.time)?.revisitAt).toBe(at('2026-12-07T08:05:00Z') + 1)
    // A region with no calendar (and no `otherwise`) runs on wall time: an hour is an hour.
    const apac = opened(at('2026-12-05T03:00:00Z'), { region: 'apac' })
    expect(decideInteraction(byRegion, [apac], apac.time)?.revisitAt).toBe(apac.time + H + 1)
    expect(
      decideInteraction(byRegion, [apac, answered(apac.time + 20 * M)], apac.time + H)?.wallLatencyMs,
    ).toBeUndefined()
    // `otherwise` gives the others a calendar; a value that is a name on Object's prototype is no key.
    const withDefault = catalogOf(
      reply({
        expectation: {
          within: '1h',
          calendar: { field: 'region', calendars: { us: 'support_new_york' }, otherwise: 'support_berlin' },
        },
      }),
    )
    expect(calendarOf(withDefault, { region: 'constructor' })?.name).toBe('support_berlin')
    expect(calendarOf(withDefault, {})?.name).toBe('support_berlin')
  })

  it('measures a late wait on a round-the-clock calendar hourly, and one without calendar or pauses as before', () => {
    const always = {
      name: 'always_open',
      timeZone: 'UTC',
      week: Object.fromEntries(
        ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => [
          day,
          [{ from: '00:00', to: '24:00' }],
        ]),
      ),
      holidays: ['2027-12-25'],
    }
    const roundCatalog = parseCatalog({
      calendars: [always],
      cpis: [reply({ expectation: { within: '1h', calendar: 'always_open' } })],
    })[0] as LatencyDefinition
    const start = at('2026-02-02T08:00:00Z')
    expect(decideInteraction(roundCatalog, [opened(start)], start + 5 * H)).toMatchObject({
      state: 'bad',
      latencyMs: 5 * H,
      revisitAt: start + 6 * H,
    })
    // Wall time: a reply stamped before its request (a skewed clock) keeps its negative wait.
    const plain = catalogOf(reply({ expectation: { within: '1h' } }))
    expect(decideInteraction(plain, [opened(start), answered(start - 500)], start + H)).toMatchObject({
      state: 'good',
      latencyMs: -500,
    })
  })

  it('leaves a deadline given by a field of the start event as the moment it names', () => {
    const promised = catalogOf(
      reply({ expectation: { deadlineField: 'promisedBy', calendar: 'support_berlin' } }),
    )
    const start = opened(at('2026-12-04T15:30:00Z'), { region: 'eu', promisedBy: '2026-12-04T18:00:00Z' })
    expect(decideInteraction(promised, [start], start.time)?.revisitAt).toBe(at('2026-12-04T18:00:00Z') + 1)
    expect(
      decideInteraction(promised, [start, answered(at('2026-12-04T17:00:00Z'))], at('2026-12-05T00:00:00Z')),
    ).toMatchObject({ state: 'good', latencyMs: 90 * M })
  })
})

describe('a calendar edited while interactions are open', () => {
  // From Monday 7 December 13:00 in Berlin (12:00 UTC) the desk closes at 14:00 instead of 17:00.
  const shortened = {
    ...berlin,
    since: '2026-12-07T12:00:00Z',
    week: Object.fromEntries(
      ['mon', 'tue', 'wed', 'thu', 'fri'].map((day) => [day, [{ from: '09:00', to: '14:00' }]]),
    ),
  }
  const cpi = parseCatalog({
    calendars: [berlin, shortened],
    cpis: [reply({ expectation: { within: '5h', calendar: 'support_berlin' } })],
  })[0] as LatencyDefinition

  it('counts the time before the edit on the old hours and after it on the new ones', () => {
    // Opened Monday 10:00: 3 h to 13:00 on the old hours, 1 h to 14:00 on the new, the last hour
    // on Tuesday 09:00–10:00 — where the old hours alone would have said Monday 15:00.
    const start = at('2026-12-07T09:00:00Z')
    expect(decideInteraction(cpi, [opened(start)], start)?.revisitAt).toBe(at('2026-12-08T09:00:00Z') + 1)
    // Answered Tuesday 09:30: 3 h + 1 h + 30 min of working time.
    expect(
      decideInteraction(
        cpi,
        [opened(start), answered(at('2026-12-08T08:30:00Z'))],
        at('2026-12-09T00:00:00Z'),
      ),
    ).toMatchObject({ state: 'good', latencyMs: 4 * H + 30 * M })
    const calendar = calendarOf(cpi, {}) as NonNullable<ReturnType<typeof calendarOf>>
    expect(calendar.isWorking(at('2026-12-07T14:30:00Z'))).toBe(false) // Monday 15:30, new hours
    expect(calendar.isWorking(at('2026-12-04T14:30:00Z'))).toBe(true) // Friday before, old hours
    // Opened Monday 09:00: 4 h to 13:00 on the old hours and the fifth to 14:00 on the new ones.
    const early = at('2026-12-07T08:00:00Z')
    expect(decideInteraction(cpi, [opened(early)], early)?.revisitAt).toBe(at('2026-12-07T13:00:00Z') + 1)
    // Still unanswered at Monday 14:10: late by 5 h of working time (the desk closed at 14:00
    // under the new hours, not 17:00), measured again when it opens on Tuesday.
    expect(decideInteraction(cpi, [opened(early)], at('2026-12-07T13:10:00Z'))).toMatchObject({
      state: 'bad',
      latencyMs: 5 * H,
      revisitAt: at('2026-12-08T08:00:00Z'),
    })
  })

  it('refuses an edit without a valid instant, or two versions from the same one', () => {
    const problems = (calendars: unknown[]) => {
      try {
        parseCatalog({ calendars, cpis: [] }, 'test')
        return []
      } catch (error) {
        return (error as CatalogError).problems
      }
    }
    expect(problems([berlin, { ...shortened, since: '2026-12-07 12:00' }])).toEqual([
      'test calendar support_berlin: since: expected an RFC 3339 instant such as 2026-12-01T00:00:00Z, got "2026-12-07 12:00"',
    ])
    expect(problems([berlin, shortened, shortened])).toEqual([
      'test calendar support_berlin: defined twice since 2026-12-07T12:00:00Z',
    ])
  })
})

describe('calendars in the catalog', () => {
  it('names the CPI, the field and the calendar it lacks', () => {
    const refuse = (input: unknown) => {
      try {
        parseCatalog(input, 'test')
      } catch (error) {
        if (error instanceof CatalogError) return error.problems
        throw error
      }
      throw new Error('accepted')
    }
    expect(
      refuse({
        calendars: [berlin],
        cpis: [reply({ expectation: { within: '1h', calendar: 'support_paris' } })],
      }),
    ).toEqual([
      'test reply_1h: expectation.calendar: no calendar named support_paris (calendars: support_berlin)',
    ])
    expect(
      refuse({
        calendars: [],
        cpis: [
          reply({
            expectation: {
              within: '1h',
              calendar: { field: 'region', calendars: { eu: 'x_cal' }, otherwise: 'y_cal' },
            },
          }),
        ],
      }),
    ).toEqual([
      'test reply_1h: expectation.calendar.calendars.eu: no calendar named x_cal (calendars: none)',
      'test reply_1h: expectation.calendar.otherwise: no calendar named y_cal (calendars: none)',
    ])
    // Overlapping periods, a calendar defined twice, an unknown field of the document.
    const overlapping = {
      ...berlin,
      name: 'overlap',
      week: {
        mon: [
          { from: '09:00', to: '13:00' },
          { from: '12:00', to: '17:00' },
        ],
      },
    }
    const problems = refuse({ calendars: [overlapping, berlin, berlin], cpis: [], extra: 1 })
    expect(problems).toEqual(['test: extra: not a catalog field (calendars, cpis)'])
    const calendarProblems = refuse({ calendars: [overlapping, berlin, berlin], cpis: [] })
    expect(calendarProblems).toHaveLength(2)
    expect(calendarProblems[0]).toMatch(/^test calendar overlap: week\.mon/)
    expect(calendarProblems[0]).toMatch(/overlap/)
    expect(calendarProblems[1]).toBe('test calendar support_berlin: defined twice')
    // A calendar that cannot give a CPI its time (a minute a week, 10,000 hours asked) is refused;
    // a malformed calendar choice is named.
    const sparse = { name: 'sparse_desk', timeZone: 'UTC', week: { mon: [{ from: '09:00', to: '09:01' }] } }
    expect(
      refuse({
        calendars: [sparse],
        cpis: [reply({ expectation: { within: '10000h', calendar: 'sparse_desk' } })],
      }),
    ).toEqual([
      'test reply_1h: expectation.calendar: calendar sparse_desk does not give 36000000000 ms of working time within ten years',
    ])
    expect(
      refuse({
        calendars: [berlin],
        cpis: [reply({ expectation: { within: '1h', calendar: { calendars: {} } } })],
      }),
    ).toEqual([
      'test reply_1h: expectation.calendar: a calendar\'s name, or {"field": …, "calendars": {value: name}, "otherwise": name}, got {"calendars":{}}',
    ])
  })

  it('loads a catalog file with calendars whose holidays come from an iCalendar file beside it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cpi-calendars-'))
    await writeFile(
      path.join(dir, 'holidays.ics'),
      [
        'BEGIN:VCALENDAR',
        'BEGIN:VEVENT',
        'DTSTART;VALUE=DATE:20261225',
        'DTEND;VALUE=DATE:20261227',
        'SUMMARY:Christmas',
        'END:VEVENT',
        'END:VCALENDAR',
      ].join('\r\n'),
    )
    const { holidays: _listed, ...withoutHolidays } = berlin
    await writeFile(
      path.join(dir, 'catalog.json'),
      JSON.stringify({
        calendars: [{ ...withoutHolidays, holidaysFromIcs: 'holidays.ics' }],
        cpis: [reply()],
      }),
    )
    const [cpi] = (await loadCatalog([path.join(dir, 'catalog.json')])) as LatencyDefinition[]
    // Thursday 24 December 16:30 + 1 h: the 25th and 26th (a Saturday) closed by the file: Monday 09:30.
    const start = at('2026-12-24T15:30:00Z')
    expect(decideInteraction(cpi as LatencyDefinition, [opened(start)], start)?.revisitAt).toBe(
      at('2026-12-28T08:30:00Z') + 1,
    )

    await writeFile(
      path.join(dir, 'broken.ics'),
      'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:nonsense\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
    )
    await writeFile(
      path.join(dir, 'broken.json'),
      JSON.stringify({ calendars: [{ ...withoutHolidays, holidaysFromIcs: 'broken.ics' }], cpis: [] }),
    )
    await expect(loadCatalog([path.join(dir, 'broken.json')])).rejects.toThrow(
      /holidaysFromIcs: .*broken\.ics line 3/,
    )
  })
})
