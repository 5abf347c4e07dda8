import type { CpiDefinition } from './definition.ts'

const DAY = 86_400_000

/**
 * How late an event may come and still revise the CPIs (principle 3): the longest time any CPI
 * of the catalog waits on an interaction — an expectation, an anchor's deadline, a follow-up
 * window — plus a day's margin. The built-in catalog's 7-day follow-ups give 8 days, so a day of
 * backlog, a nightly batch source or a producer catching up revises its windows instead of
 * being left out. Pure.
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
    case 'latency':
      return [definition.expectation.within ?? 0, ...definition.expectation.rules.map((rule) => rule.within)]
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
