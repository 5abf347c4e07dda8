import { calendarsOf } from './decide.ts'
import type { CpiDefinition } from './definition.ts'

const DAY = 86_400_000

/**
 * How late an event may come and still revise the CPIs (docs/architecture.md, principle 3): the longest time any CPI
 * of the catalog waits on an interaction — an expectation, an anchor's deadline, a follow-up
 * window — plus a day's margin. The built-in catalog's 7-day follow-ups give 8 days, so a day of
 * backlog, a nightly batch source or a producer catching up revises its windows instead of
 * being left out. A time allowed on a business-hours calendar counts as the longest wall time
 * it takes from any hour of a week, plus two weeks for holidays. Pure.
 */
export function revisionHorizonMs(catalog: readonly CpiDefinition[], marginMs = DAY): number {
  let longest = 0
  for (const definition of catalog) {
    for (const duration of durationsOf(definition)) longest = Math.max(longest, duration)
  }
  return longest + marginMs
}

function durationsOf(definition: CpiDefinition): number[] {
  switch (definition.shape) {
    case 'latency': {
      const allowed = [
        definition.expectation.within ?? 0,
        ...definition.expectation.rules.map((rule) => rule.within),
      ]
      const calendars = calendarsOf(definition)
      return calendars.length === 0
        ? allowed
        : allowed.map((ms) => Math.max(ms, ...calendars.map((calendar) => wallLength(calendar, ms))))
    }
    case 'condition':
      return [
        definition.followUp,
        definition.anchorWithin ?? 0,
        definition.excludeWithoutAnchorAfter?.plus ?? 0,
      ]
    case 'survey':
      return []
  }
}

/** The longest wall time `allowedMs` of working time takes on a calendar, from each hour of a week, plus two weeks. */
function wallLength(calendar: ReturnType<typeof calendarsOf>[number], allowedMs: number): number {
  const monday = Date.UTC(2026, 0, 5)
  let longest = 0
  for (let hour = 0; hour < 168; hour++) {
    const start = monday + hour * 3_600_000
    try {
      longest = Math.max(longest, calendar.addBusinessTime(start, allowedMs) - start)
    } catch {
      // Refused at catalog load; nothing to add here.
    }
  }
  return longest + 14 * DAY
}
