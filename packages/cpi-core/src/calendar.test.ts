import { describe, expect, it } from 'vitest'
import {
  type BusinessCalendar,
  CalendarError,
  type CalendarInput,
  calendarSchema,
  compileCalendar,
  type Period,
  parseIcsHolidays,
} from './calendar.ts'

const M = 60_000
const H = 3_600_000
const D = 24 * H

const at = (iso: string) => Date.parse(iso)
const iso = (instant: number | undefined) =>
  instant === undefined ? undefined : new Date(instant).toISOString()

const nineToFive: Period[] = [{ from: '09:00', to: '17:00' }]
const weekdaysOnly = (periods: Period[]) => ({
  mon: periods,
  tue: periods,
  wed: periods,
  thu: periods,
  fri: periods,
})
const calendar = (timeZone: string, week: CalendarInput['week'], holidays: string[] = []): BusinessCalendar =>
  compileCalendar({ name: 'support', timeZone, week, holidays })

const berlin = calendar('Europe/Berlin', weekdaysOnly(nineToFive))
const newYork = calendar('America/New_York', weekdaysOnly(nineToFive))

describe('addBusinessTime, Europe/Berlin Monday to Friday 09:00–17:00', () => {
  it('carries Friday 16:30 plus one hour over the weekend to Monday 09:30', () => {
    // December is CET (UTC+1). Friday 2026-12-04 16:30 local is 15:30Z; 30 minutes remain until
    // 17:00 (16:00Z); the other 30 run from Monday 2026-12-07 09:00 local (08:00Z): 08:30Z.
    expect(iso(berlin.addBusinessTime(at('2026-12-04T15:30:00Z'), H))).toBe('2026-12-07T08:30:00.000Z')
  })

  it('is due at the closing itself when the duration ends exactly there, not at the next opening', () => {
    // Friday 16:00 local (15:00Z) plus one hour is 17:00 local, 16:00Z.
    expect(iso(berlin.addBusinessTime(at('2026-12-04T15:00:00Z'), H))).toBe('2026-12-04T16:00:00.000Z')
  })

  it('starts counting at the next opening when started outside hours', () => {
    // Saturday noon: counting starts Monday 09:00 local (08:00Z).
    expect(iso(berlin.addBusinessTime(at('2026-12-05T12:00:00Z'), 30 * M))).toBe('2026-12-07T08:30:00.000Z')
    // Monday 07:00 local (06:00Z), before opening: 09:00 local + 1 h = 10:00 local = 09:00Z.
    expect(iso(berlin.addBusinessTime(at('2026-12-07T06:00:00Z'), H))).toBe('2026-12-07T09:00:00.000Z')
  })

  it('gives the next opening for a zero duration when closed, the start itself when open', () => {
    expect(iso(berlin.addBusinessTime(at('2026-12-05T12:00:00Z'), 0))).toBe('2026-12-07T08:00:00.000Z')
    // Exactly at the closing is closed (a period's end is excluded).
    expect(iso(berlin.addBusinessTime(at('2026-12-04T16:00:00Z'), 0))).toBe('2026-12-07T08:00:00.000Z')
    expect(iso(berlin.addBusinessTime(at('2026-12-04T10:00:00Z'), 0))).toBe('2026-12-04T10:00:00.000Z')
  })

  it('spans several weeks', () => {
    // 100 h from Monday 2026-11-02 09:00 local (08:00Z) = 12 full days of 8 h (Nov 2–6, 9–13,
    // 16–17) + 4 h on Wednesday Nov 18: 13:00 local (CET) = 12:00Z.
    expect(iso(berlin.addBusinessTime(at('2026-11-02T08:00:00Z'), 100 * H))).toBe('2026-11-18T12:00:00.000Z')
    // 200 h from Monday 2026-10-19 09:00 CEST (07:00Z) = 25 full days across the October change
    // (Oct 19–23, 26–30, Nov 2–6, 9–13, 16–20): Friday Nov 20 17:00 CET = 16:00Z.
    expect(iso(berlin.addBusinessTime(at('2026-10-19T07:00:00Z'), 200 * H))).toBe('2026-11-20T16:00:00.000Z')
  })

  it('rejects a negative or non-finite duration and a non-finite start', () => {
    expect(() => berlin.addBusinessTime(at('2026-12-04T10:00:00Z'), -1)).toThrow(
      /durationMs must be .* got -1/,
    )
    expect(() => berlin.addBusinessTime(at('2026-12-04T10:00:00Z'), Number.NaN)).toThrow(RangeError)
    expect(() => berlin.addBusinessTime(Number.NaN, H)).toThrow(/start must be a finite number/)
  })

  it('gives up with a clear error beyond ten years of scanning instead of looping', () => {
    // 11 years of 40-hour weeks cannot fit in 3660 days.
    expect(() => berlin.addBusinessTime(at('2026-01-05T08:00:00Z'), 11 * 52 * 40 * H)).toThrow(
      /calendar support: no answer within 3660 days of 2026-01-05T08:00:00.000Z/,
    )
  })

  it('counts a duration of many weeks across a clock change: 30 days of working time are 90 eight-hour days', () => {
    // Monday 2027-01-04 09:00 in Berlin (08:00Z) + 720 working hours = 90 working days = 18 weeks
    // of five days: the last hour ends on Friday 2027-05-07 at 17:00 local, summer time since
    // 28 March (UTC+2), so 15:00Z.
    const berlin = calendar('Europe/Berlin', weekdaysOnly(nineToFive))
    expect(new Date(berlin.addBusinessTime(at('2027-01-04T08:00:00Z'), 30 * D)).toISOString()).toBe(
      '2027-05-07T15:00:00.000Z',
    )
  })
})

describe('two periods a day and holidays', () => {
  const split = calendar(
    'Europe/Berlin',
    weekdaysOnly([
      { from: '09:00', to: '12:00' },
      { from: '13:00', to: '17:00' },
    ]),
  )

  it('skips the lunch break: 11:30 plus one hour is 13:30', () => {
    // Monday 2026-12-07 11:30 CET (10:30Z): 30 min to 12:00, then 13:00 + 30 min = 13:30 CET = 12:30Z.
    expect(iso(split.addBusinessTime(at('2026-12-07T10:30:00Z'), H))).toBe('2026-12-07T12:30:00.000Z')
    expect(split.businessDuration(at('2026-12-07T10:30:00Z'), at('2026-12-07T12:30:00Z'))).toBe(H)
    expect(split.isWorking(at('2026-12-07T11:30:00Z'))).toBe(false)
  })

  it('skips holidays given as local dates', () => {
    // Wednesday 2026-12-23 16:00 CET (15:00Z) + 2 h: 1 h that day; Thursday 24 and Friday 25 are
    // holidays, then the weekend; Monday 28 09:00 + 1 h = 10:00 CET = 09:00Z.
    const withHolidays = calendar('Europe/Berlin', weekdaysOnly(nineToFive), ['2026-12-24', '2026-12-25'])
    expect(iso(withHolidays.addBusinessTime(at('2026-12-23T15:00:00Z'), 2 * H))).toBe(
      '2026-12-28T09:00:00.000Z',
    )
    expect(withHolidays.isWorking(at('2026-12-24T10:00:00Z'))).toBe(false)
    expect(berlin.isWorking(at('2026-12-24T10:00:00Z'))).toBe(true)
  })

  it('skips holidays read from an iCalendar file', () => {
    const ics = [
      'BEGIN:VCALENDAR',
      'BEGIN:VEVENT',
      'SUMMARY:Christmas',
      'DTSTART;VALUE=DATE:20261224',
      'DTEND;VALUE=DATE:20261226',
      'END:VEVENT',
      'END:VCALENDAR',
    ].join('\r\n')
    const { dates, errors } = parseIcsHolidays(ics)
    expect(errors).toEqual([])
    const withHolidays = calendar('Europe/Berlin', weekdaysOnly(nineToFive), dates)
    expect(iso(withHolidays.addBusinessTime(at('2026-12-23T15:00:00Z'), 2 * H))).toBe(
      '2026-12-28T09:00:00.000Z',
    )
  })
})

describe('daylight saving time', () => {
  const sundays = (timeZone: string, periods: Period[]) => calendar(timeZone, { sun: periods })
  const allDay = [{ from: '00:00', to: '24:00' }]

  it('Europe/Berlin: Sunday 2026-03-29 is 23 hours of working time, Sunday 2026-10-25 is 25', () => {
    const berlinSundays = sundays('Europe/Berlin', allDay)
    // 00:00 CET = 03-28T23:00Z to 24:00 CEST = 03-29T22:00Z.
    expect(berlinSundays.businessDuration(at('2026-03-28T00:00:00Z'), at('2026-03-31T00:00:00Z'))).toBe(
      23 * H,
    )
    expect(iso(berlinSundays.addBusinessTime(at('2026-03-28T12:00:00Z'), 23 * H))).toBe(
      '2026-03-29T22:00:00.000Z',
    )
    // One millisecond more runs into the next Sunday, 00:00 CEST = 04-04T22:00Z.
    expect(iso(berlinSundays.addBusinessTime(at('2026-03-28T12:00:00Z'), 23 * H + 1))).toBe(
      '2026-04-04T22:00:00.001Z',
    )
    // 00:00 CEST = 10-24T22:00Z to 24:00 CET = 10-25T23:00Z.
    expect(berlinSundays.businessDuration(at('2026-10-24T00:00:00Z'), at('2026-10-27T00:00:00Z'))).toBe(
      25 * H,
    )
  })

  it('America/New_York: Sunday 2026-03-08 is 23 hours, Sunday 2026-11-01 is 25', () => {
    const newYorkSundays = sundays('America/New_York', allDay)
    // 00:00 EST = 03-08T05:00Z to 24:00 EDT = 03-09T04:00Z.
    expect(newYorkSundays.businessDuration(at('2026-03-07T00:00:00Z'), at('2026-03-10T00:00:00Z'))).toBe(
      23 * H,
    )
    expect(iso(newYorkSundays.nextChange(at('2026-03-08T12:00:00Z')))).toBe('2026-03-09T04:00:00.000Z')
    // 00:00 EDT = 11-01T04:00Z to 24:00 EST = 11-02T05:00Z.
    expect(newYorkSundays.businessDuration(at('2026-10-31T00:00:00Z'), at('2026-11-03T00:00:00Z'))).toBe(
      25 * H,
    )
  })

  it('counts real elapsed time inside a period that contains the change', () => {
    const early = sundays('Europe/Berlin', [{ from: '01:00', to: '05:00' }])
    // 01:00 CET = 00:00Z to 05:00 CEST = 03:00Z: 3 h; in October 01:00 CEST = 23:00Z to 05:00 CET = 04:00Z: 5 h.
    expect(early.businessDuration(at('2026-03-28T00:00:00Z'), at('2026-03-30T00:00:00Z'))).toBe(3 * H)
    expect(early.businessDuration(at('2026-10-24T00:00:00Z'), at('2026-10-26T00:00:00Z'))).toBe(5 * H)
    // An ordinary Sunday has its 4 h.
    expect(early.businessDuration(at('2026-03-21T00:00:00Z'), at('2026-03-23T00:00:00Z'))).toBe(4 * H)
  })

  it('opens a period whose start is skipped at the end of the gap, and takes a repeated time first', () => {
    // 02:30 does not exist on 2026-03-29 (02:00 CET jumps to 03:00 CEST at 01:00Z): the period
    // opens at the jump, 01:00Z, and runs to 05:00 CEST = 03:00Z.
    const skipped = sundays('Europe/Berlin', [{ from: '02:30', to: '05:00' }])
    expect(iso(skipped.nextChange(at('2026-03-29T00:00:00Z')))).toBe('2026-03-29T01:00:00.000Z')
    expect(skipped.businessDuration(at('2026-03-28T00:00:00Z'), at('2026-03-30T00:00:00Z'))).toBe(2 * H)
    // 02:30 happens twice on 2026-10-25; the first is 02:30 CEST = 00:30Z. To 04:00 CET = 03:00Z: 2.5 h.
    const repeated = sundays('Europe/Berlin', [{ from: '02:30', to: '04:00' }])
    expect(iso(repeated.nextChange(at('2026-10-25T00:00:00Z')))).toBe('2026-10-25T00:30:00.000Z')
    expect(repeated.businessDuration(at('2026-10-24T00:00:00Z'), at('2026-10-26T00:00:00Z'))).toBe(2.5 * H)
    // A period wholly inside the skipped hour has no working time that day.
    const inGap = sundays('Europe/Berlin', [{ from: '02:10', to: '02:50' }])
    expect(inGap.businessDuration(at('2026-03-28T00:00:00Z'), at('2026-03-30T00:00:00Z'))).toBe(0)
    expect(inGap.businessDuration(at('2026-03-21T00:00:00Z'), at('2026-03-23T00:00:00Z'))).toBe(40 * M)
  })

  it('measures across the weekend of a change with each side in its own offset', () => {
    // Berlin: Friday 2026-03-27 16:00 CET (15:00Z) to Monday 03-30 10:00 CEST (08:00Z): 1 h + 1 h.
    // Reading Monday with Friday's offset (CET) would open it at 08:00Z and count only Friday's hour.
    expect(berlin.businessDuration(at('2026-03-27T15:00:00Z'), at('2026-03-30T08:00:00Z'))).toBe(2 * H)
    expect(iso(berlin.addBusinessTime(at('2026-03-27T15:00:00Z'), 2 * H))).toBe('2026-03-30T08:00:00.000Z')
    // New York: Friday 2026-03-06 16:00 EST (21:00Z) to Monday 03-09 10:00 EDT (14:00Z): 2 h.
    expect(newYork.businessDuration(at('2026-03-06T21:00:00Z'), at('2026-03-09T14:00:00Z'))).toBe(2 * H)
    // And back: Friday 2026-10-30 16:00 EDT (20:00Z) to Monday 11-02 10:00 EST (15:00Z): 2 h.
    expect(newYork.businessDuration(at('2026-10-30T20:00:00Z'), at('2026-11-02T15:00:00Z'))).toBe(2 * H)
    // Monday opens at 09:00 EST = 14:00Z; read with EDT, 13:30Z would already be 09:30.
    expect(newYork.isWorking(at('2026-11-02T13:30:00Z'))).toBe(false)
    expect(newYork.isWorking(at('2026-11-02T14:00:00Z'))).toBe(true)
  })
})

describe('isWorking, businessDuration and nextChange', () => {
  it('includes a period start and excludes its end', () => {
    expect(berlin.isWorking(at('2026-12-07T08:00:00Z'))).toBe(true)
    expect(berlin.isWorking(at('2026-12-07T07:59:59.999Z'))).toBe(false)
    expect(berlin.isWorking(at('2026-12-07T15:59:59.999Z'))).toBe(true)
    expect(berlin.isWorking(at('2026-12-07T16:00:00Z'))).toBe(false)
  })

  it('gives 0 for an empty or reversed range', () => {
    expect(berlin.businessDuration(at('2026-12-07T10:00:00Z'), at('2026-12-07T10:00:00Z'))).toBe(0)
    expect(berlin.businessDuration(at('2026-12-07T12:00:00Z'), at('2026-12-07T10:00:00Z'))).toBe(0)
    // A week: five days of 8 h.
    expect(berlin.businessDuration(at('2026-12-07T00:00:00Z'), at('2026-12-14T00:00:00Z'))).toBe(40 * H)
  })

  it('finds the next closing while open and the next opening while closed', () => {
    expect(iso(berlin.nextChange(at('2026-12-04T15:30:00Z')))).toBe('2026-12-04T16:00:00.000Z')
    expect(iso(berlin.nextChange(at('2026-12-04T16:00:00Z')))).toBe('2026-12-07T08:00:00.000Z')
    expect(iso(berlin.nextChange(at('2026-12-07T08:00:00Z')))).toBe('2026-12-07T16:00:00.000Z')
  })

  it('treats touching periods, within a day and across midnight, as one stretch', () => {
    const touching = calendar(
      'Europe/Berlin',
      weekdaysOnly([
        { from: '09:00', to: '12:00' },
        { from: '12:00', to: '17:00' },
      ]),
    )
    expect(iso(touching.nextChange(at('2026-12-07T09:00:00Z')))).toBe('2026-12-07T16:00:00.000Z')
    const allDay = [{ from: '00:00', to: '24:00' }]
    const roundTheClock = {
      mon: allDay,
      tue: allDay,
      wed: allDay,
      thu: allDay,
      fri: allDay,
      sat: allDay,
      sun: allDay,
    }
    // Open every day but Christmas: the next change after 1 December is 25 December 00:00 CET.
    const withChristmas = calendar('Europe/Berlin', roundTheClock, ['2026-12-25'])
    expect(iso(withChristmas.nextChange(at('2026-12-01T00:00:00Z')))).toBe('2026-12-24T23:00:00.000Z')
    expect(iso(withChristmas.nextChange(at('2026-12-24T23:00:00Z')))).toBe('2026-12-25T23:00:00.000Z')
    // Never closed: no change within the scan.
    expect(calendar('Europe/Berlin', roundTheClock).nextChange(at('2026-12-01T00:00:00Z'))).toBeUndefined()
  })

  it('businessDuration undoes addBusinessTime over a spread of fixed cases', () => {
    // Two periods a day, a holiday and both Berlin changes of 2026 in range.
    const varied = calendar(
      'Europe/Berlin',
      {
        ...weekdaysOnly([
          { from: '08:15', to: '12:00' },
          { from: '13:30', to: '18:45' },
        ]),
        sat: [{ from: '01:00', to: '05:00' }],
        sun: [{ from: '02:30', to: '03:30' }],
      },
      ['2026-03-30', '2026-10-26'],
    )
    let checked = 0
    for (let index = 0; index < 400; index++) {
      // Deterministic, uneven steps: starts every ~11 h from mid-March, durations up to ~60 h.
      const start = at('2026-03-20T00:00:00Z') + index * 39_779_000 + (index % 7) * 60_013
      const duration = (index * 7_919_123) % (60 * H)
      const due = varied.addBusinessTime(start, duration)
      expect(varied.businessDuration(start, due)).toBe(duration)
      expect(due).toBeGreaterThanOrEqual(start)
      // An instant inside working time is the earliest one its own working time from `start` reaches.
      const probe = start + ((index * 5_003_999) % (3 * D))
      if (varied.isWorking(probe)) {
        expect(varied.addBusinessTime(start, varied.businessDuration(start, probe))).toBe(probe)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(20)
  })
})

describe('calendar definitions', () => {
  const valid = { name: 'support_berlin', timeZone: 'Europe/Berlin', week: { mon: nineToFive } }
  const problemsOf = (input: unknown): string[] => {
    try {
      compileCalendar(input as CalendarInput)
    } catch (error) {
      if (error instanceof CalendarError) return error.problems
      throw error
    }
    return []
  }

  it('accepts a valid one, several periods a day and 24:00 as an end, defaulting holidays to none', () => {
    const parsed = calendarSchema.parse({
      ...valid,
      week: {
        sun: [
          { from: '00:00', to: '08:00' },
          { from: '20:00', to: '24:00' },
        ],
      },
    })
    expect(parsed.holidays).toEqual([])
    expect(problemsOf(valid)).toEqual([])
  })

  it('names an unknown time zone and what it got', () => {
    expect(problemsOf({ ...valid, timeZone: 'Europe/Berlim' })).toEqual([
      'timeZone: an IANA time zone such as Europe/Berlin, got "Europe/Berlim"',
    ])
    expect(problemsOf({ ...valid, timeZone: '' })).toEqual([
      'timeZone: an IANA time zone such as Europe/Berlin, got ""',
    ])
  })

  it('names the day and both periods when periods overlap or are out of order', () => {
    expect(
      problemsOf({
        ...valid,
        week: {
          mon: [
            { from: '09:00', to: '12:00' },
            { from: '11:00', to: '13:00' },
          ],
        },
      }),
    ).toEqual(['week.mon: periods must not overlap: 09:00–12:00 and 11:00–13:00'])
    expect(
      problemsOf({
        ...valid,
        week: {
          tue: [
            { from: '13:00', to: '17:00' },
            { from: '09:00', to: '12:00' },
          ],
        },
      }),
    ).toEqual(['week.tue: periods must be in time order: 13:00–17:00 is listed before 09:00–12:00'])
  })

  it("names a 'to' that is not after 'from'", () => {
    expect(problemsOf({ ...valid, week: { wed: [{ from: '17:00', to: '09:00' }] } })).toEqual([
      "week.wed[0].to: a time after 'from' (17:00), got 09:00",
    ])
    expect(problemsOf({ ...valid, week: { wed: [{ from: '09:00', to: '09:00' }] } })).toEqual([
      "week.wed[0].to: a time after 'from' (09:00), got 09:00",
    ])
  })

  it('names a malformed HH:MM', () => {
    expect(problemsOf({ ...valid, week: { mon: [{ from: '9:00', to: '24:30' }] } })).toEqual([
      'week.mon[0].from: a local time HH:MM from 00:00 to 23:59, got "9:00"',
      'week.mon[0].to: a local time HH:MM from 00:01 to 24:00, got "24:30"',
    ])
    expect(problemsOf({ ...valid, week: { mon: [null, { from: 900 }] } })).toEqual([
      'week.mon[0]: Invalid input: expected object, received null',
      'week.mon[1].from: Invalid input: expected string, received number',
      'week.mon[1].to: Invalid input: expected string, received undefined',
    ])
    expect(problemsOf({ ...valid, week: { mon: [{ from: '24:00', to: '24:00' }] } })).toEqual([
      'week.mon[0].from: a local time HH:MM from 00:00 to 23:59, got "24:00"',
    ])
  })

  it('names a malformed or impossible holiday date', () => {
    expect(problemsOf({ ...valid, holidays: ['2026-12-25', '24.12.2026', '2026-02-30'] })).toEqual([
      'holidays[1]: a real local date YYYY-MM-DD such as 2026-12-25, got "24.12.2026"',
      'holidays[2]: a real local date YYYY-MM-DD such as 2026-12-25, got "2026-02-30"',
    ])
  })

  it('refuses a week without any working period, and a misspelt day', () => {
    expect(problemsOf({ ...valid, week: { mon: [], sat: [] } })).toEqual([
      'week: at least one working period in the week, got {"mon":[],"sat":[]}',
    ])
    expect(problemsOf({ ...valid, week: { monday: nineToFive, fri: nineToFive } })).toEqual([
      'week: Unrecognized key: "monday"',
    ])
  })

  it('names a name that is not snake_case', () => {
    expect(problemsOf({ ...valid, name: 'Support Berlin' })).toEqual([
      'name: a snake_case name, e.g. support_berlin, got "Support Berlin"',
    ])
  })
})

describe('parseIcsHolidays', () => {
  const ics = (...lines: string[]) => lines.join('\r\n')

  it('unfolds folded lines, in a parameter and in a value, with CRLF or LF', () => {
    const folded = [
      'BEGIN:VCALENDAR',
      'BEGIN:VEVENT',
      'SUMMARY:Christmas Eve and',
      '  Christmas Day',
      'DTSTART;VALUE=DA',
      ' TE:20261',
      '\t224',
      'DTEND;VALUE=DATE:20261226',
      'END:VEVENT',
      'END:VCALENDAR',
    ]
    expect(parseIcsHolidays(folded.join('\r\n'))).toEqual({ dates: ['2026-12-24', '2026-12-25'], errors: [] })
    expect(parseIcsHolidays(folded.join('\n')).dates).toEqual(['2026-12-24', '2026-12-25'])
  })

  it('covers each date of a multi-day all-day event, DTEND excluded', () => {
    const text = ics('BEGIN:VEVENT', 'DTSTART;VALUE=DATE:20261229', 'DTEND;VALUE=DATE:20270102', 'END:VEVENT')
    expect(parseIcsHolidays(text).dates).toEqual(['2026-12-29', '2026-12-30', '2026-12-31', '2027-01-01'])
    // Without DTEND an all-day event is one day.
    expect(parseIcsHolidays(ics('BEGIN:VEVENT', 'DTSTART;VALUE=DATE:20261229', 'END:VEVENT')).dates).toEqual([
      '2026-12-29',
    ])
  })

  it('expands a yearly RRULE with COUNT, UNTIL or neither over the years asked for', () => {
    const mayDay = (rule: string) => ics('BEGIN:VEVENT', 'DTSTART;VALUE=DATE:20260501', rule, 'END:VEVENT')
    expect(parseIcsHolidays(mayDay('RRULE:FREQ=YEARLY;COUNT=3')).dates).toEqual([
      '2026-05-01',
      '2027-05-01',
      '2028-05-01',
    ])
    // COUNT counts from the first occurrence, whatever years are asked for.
    expect(
      parseIcsHolidays(mayDay('RRULE:FREQ=YEARLY;COUNT=3'), { fromYear: 2027, toYear: 2030 }).dates,
    ).toEqual(['2027-05-01', '2028-05-01'])
    expect(parseIcsHolidays(mayDay('RRULE:FREQ=YEARLY;UNTIL=20280430')).dates).toEqual([
      '2026-05-01',
      '2027-05-01',
    ])
    // No end: the start year through ten years after it.
    const open = parseIcsHolidays(mayDay('RRULE:FREQ=YEARLY')).dates
    expect([open.length, open[0], open.at(-1)]).toEqual([11, '2026-05-01', '2036-05-01'])
    // 29 February recurs only in leap years, and COUNT counts real occurrences.
    const leap = ics('BEGIN:VEVENT', 'DTSTART;VALUE=DATE:20280229', 'RRULE:FREQ=YEARLY;COUNT=2', 'END:VEVENT')
    expect(parseIcsHolidays(leap).dates).toEqual(['2028-02-29', '2032-02-29'])
  })

  it('reports a VEVENT without DTSTART with its line and keeps the other events', () => {
    const text = ics(
      'BEGIN:VCALENDAR',
      'BEGIN:VEVENT',
      'DTSTART;VALUE=DATE:20261225',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'SUMMARY:Boxing Day, date forgotten',
      'END:VEVENT',
      'END:VCALENDAR',
    )
    expect(parseIcsHolidays(text)).toEqual({
      dates: ['2026-12-25'],
      errors: [{ line: 5, message: 'VEVENT without DTSTART: its date is unknown, the event is skipped' }],
    })
  })

  it('takes the written date of a date-time, and ignores other components and properties', () => {
    const text = ics(
      'BEGIN:VCALENDAR',
      'BEGIN:VTIMEZONE',
      'TZID:Europe/Berlin',
      'BEGIN:STANDARD',
      'DTSTART:19701025T030000',
      'END:STANDARD',
      'END:VTIMEZONE',
      'BEGIN:VEVENT',
      'DTSTART;TZID="Europe/Berlin":20261231T000000',
      'X-UNKNOWN;FOO="a:b":c',
      'BEGIN:VALARM',
      'DTSTART:20200101T000000Z',
      'END:VALARM',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'DTSTART:20261230T230000Z',
      'END:VEVENT',
      'END:VCALENDAR',
    )
    expect(parseIcsHolidays(text)).toEqual({ dates: ['2026-12-30', '2026-12-31'], errors: [] })
  })

  it('reports a malformed date and an unsupported RRULE on their lines', () => {
    const text = ics(
      'BEGIN:VEVENT',
      'DTSTART;VALUE=DATE:2026-12-24',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'DTSTART;VALUE=DATE:20261126',
      'RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH',
      'END:VEVENT',
    )
    expect(parseIcsHolidays(text)).toEqual({
      dates: ['2026-11-26'],
      errors: [
        {
          line: 2,
          message: 'DTSTART must be a date YYYYMMDD or a date-time YYYYMMDDTHHMMSS[Z], got "2026-12-24"',
        },
        {
          line: 6,
          message:
            'unsupported RRULE part BYDAY=4TH in "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH": only the first occurrence is kept',
        },
      ],
    })
  })
})
