import type { AlertLabels } from '@cpi/alerting'
import { type CpiDefinition, parseCatalog } from '@cpi/cpi-core'

// What the alerter's unit tests share: a hand-made CPI over a one-day objective and the labels
// of a burn-rate page. Used by tests only.

export const MIN = 60_000
export const T = Date.parse('2026-11-22T10:00:00Z')

/** A latency CPI of `target` (90 % unless told) over one day, page alerting unless told. */
export function oneDayCpi(
  name: string,
  target = 0.9,
  alerting: 'page' | 'ticket' | 'none' = 'page',
): CpiDefinition {
  const [definition] = parseCatalog([
    {
      name,
      displayName: name.replace('_', ' '),
      description: 'A hand-made CPI for the alerter tests.',
      owner: 'tests',
      version: 1,
      shape: 'latency',
      start: { type: 'ticket.opened' },
      completion: [{ type: 'ticket.message' }],
      expectation: { within: '5m' },
      objective: { target, window: '1d' },
      alerting,
    },
  ])
  return definition as CpiDefinition
}

/** The labels of a CPI's burn-rate page on the whole CPI. */
export const burnRateLabels = (cpi: string): AlertLabels => ({
  alertname: 'CpiBurnRate',
  cpi,
  dimension: 'all',
  segment: 'all',
  severity: 'page',
  rule: 'burn_rate',
})
