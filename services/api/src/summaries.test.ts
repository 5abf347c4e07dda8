import type { CpiPoint } from '@cpi/clickhouse'
import { type CpiDefinition, parseCatalog } from '@cpi/cpi-core'
import { describe, expect, it } from 'vitest'
import { healthOf, summarize } from './summaries.ts'

const HOUR = 3_600_000
const AS_OF = Date.parse('2026-11-22T10:00:00Z')

const [definition] = parseCatalog([
  {
    name: 'speed_to_lead',
    displayName: 'Speed to lead',
    description: 'A web enquiry gets its first human reply within 5 minutes.',
    owner: 'sales',
    version: 3,
    shape: 'latency',
    start: { type: 'ticket.opened' },
    completion: [{ type: 'ticket.message' }],
    expectation: { within: '5m' },
    dimensions: ['region', 'category'],
    objective: { target: 0.8 },
    alerting: 'page',
  },
]) as [CpiDefinition]

function point(windowStart: number, good: number, total: number): CpiPoint {
  return {
    windowStart: new Date(windowStart).toISOString(),
    good,
    total,
    pending: 0,
    ratio: total === 0 ? null : good / total,
    p50: null,
    p90: null,
    p99: null,
    status: 'final',
  }
}

const options = { asOf: AS_OF, windowMs: HOUR, count: 4, firing: 0, pageFiring: false }

describe('healthOf', () => {
  it('is ok at or above the target', () => {
    expect(healthOf(0.9, 0.9, false)).toBe('ok')
    expect(healthOf(0.95, 0.95, false)).toBe('ok')
    expect(healthOf(1, 0.9, false)).toBe('ok')
  })

  it('is at_risk below the target while the error rate is short of twice the budget', () => {
    expect(healthOf(0.899, 0.9, false)).toBe('at_risk')
    expect(healthOf(0.801, 0.9, false)).toBe('at_risk')
    expect(healthOf(0.9001, 0.95, false)).toBe('at_risk')
  })

  it('is breached once the error rate is exactly twice the budget or more', () => {
    expect(healthOf(0.8, 0.9, false)).toBe('breached')
    expect(healthOf(0.98, 0.99, false)).toBe('breached')
    expect(healthOf(0, 0.9, false)).toBe('breached')
    // In doubles 1 − 0.9 < 2 × (1 − 0.95) and 1 − 0.4 < 2 × (1 − 0.7): still exactly twice.
    expect(healthOf(0.9, 0.95, false)).toBe('breached')
    expect(healthOf(0.4, 0.7, false)).toBe('breached')
    expect(healthOf(90 / 100, 0.95, false)).toBe('breached')
  })

  it('is no_data without a ratio, unless a page fires', () => {
    expect(healthOf(null, 0.9, false)).toBe('no_data')
    expect(healthOf(null, 0.9, true)).toBe('breached')
  })

  it('is breached while a page alert fires, whatever the ratio', () => {
    expect(healthOf(1, 0.9, true)).toBe('breached')
    expect(healthOf(0.89, 0.9, true)).toBe('breached')
  })
})

describe('summarize', () => {
  it('lays the windows out ending at asOf and picks the last two as current and previous', () => {
    const windows = [
      point(AS_OF - 4 * HOUR, 50, 100),
      point(AS_OF - 3 * HOUR, 70, 100),
      point(AS_OF - 2 * HOUR, 60, 80),
      point(AS_OF - HOUR, 90, 100),
    ]
    const summary = summarize(definition, windows, { ...options, firing: 2 })
    expect(summary.sparkline).toEqual([
      { windowStart: '2026-11-22T06:00:00.000Z', ratio: 0.5 },
      { windowStart: '2026-11-22T07:00:00.000Z', ratio: 0.7 },
      { windowStart: '2026-11-22T08:00:00.000Z', ratio: 0.75 },
      { windowStart: '2026-11-22T09:00:00.000Z', ratio: 0.9 },
    ])
    expect(summary.current).toEqual(windows[3])
    expect(summary.previous).toEqual(windows[2])
    expect(summary.trend).toBeCloseTo(0.15, 12)
    expect(summary.health).toBe('ok')
    expect(summary.firingAlerts).toBe(2)
  })

  it('carries the definition, with the objective window formatted', () => {
    const summary = summarize(definition, [], options)
    expect(summary).toMatchObject({
      name: 'speed_to_lead',
      displayName: 'Speed to lead',
      owner: 'sales',
      shape: 'latency',
      version: 3,
      dimensions: ['region', 'category'],
      objective: { target: 0.8, window: '28d' },
      alerting: 'page',
      leadingIndicators: [],
      laggingIndicators: [],
      indexWeight: 0,
    })
    const oneDay = { ...definition, objective: { ...definition.objective, window: 86_400_000 } }
    expect(summarize(oneDay, [], options).objective.window).toBe('1d')
  })

  it('formats a 30-day objective as 30d', () => {
    const thirty = { ...definition, objective: { ...definition.objective, window: 30 * 86_400_000 } }
    expect(summarize(thirty, [], options).objective).toEqual({ target: 0.8, window: '30d' })
  })

  it('treats missing windows as empty: null values and null sparkline points', () => {
    const summary = summarize(definition, [point(AS_OF - 3 * HOUR, 70, 100)], options)
    expect(summary.sparkline.map((entry) => entry.ratio)).toEqual([null, 0.7, null, null])
    expect(summary.current).toBeNull()
    expect(summary.previous).toBeNull()
    expect(summary.trend).toBeNull()
    expect(summary.health).toBe('no_data')
  })

  it('has no trend when the previous window is missing or has no known outcome', () => {
    const onlyCurrent = summarize(definition, [point(AS_OF - HOUR, 60, 100)], options)
    expect(onlyCurrent.current?.ratio).toBe(0.6)
    expect(onlyCurrent.previous).toBeNull()
    expect(onlyCurrent.trend).toBeNull()
    expect(onlyCurrent.health).toBe('breached')

    const emptyPrevious = summarize(
      definition,
      [point(AS_OF - 2 * HOUR, 0, 0), point(AS_OF - HOUR, 70, 100)],
      options,
    )
    expect(emptyPrevious.previous?.ratio).toBeNull()
    expect(emptyPrevious.trend).toBeNull()
    expect(emptyPrevious.health).toBe('at_risk')
  })

  it('ignores windows that are not aligned to asOf', () => {
    const summary = summarize(definition, [point(AS_OF - HOUR + 60_000, 100, 100)], options)
    expect(summary.current).toBeNull()
    expect(summary.sparkline.every((entry) => entry.ratio === null)).toBe(true)
  })

  it('is breached when a page fires even though the current window meets the target', () => {
    const summary = summarize(definition, [point(AS_OF - HOUR, 100, 100)], {
      ...options,
      firing: 1,
      pageFiring: true,
    })
    expect(summary.health).toBe('breached')
    expect(summary.trend).toBeNull()
  })

  it('has a negative trend when the ratio falls', () => {
    const summary = summarize(
      definition,
      [point(AS_OF - 2 * HOUR, 90, 100), point(AS_OF - HOUR, 85, 100)],
      options,
    )
    expect(summary.trend).toBeCloseTo(-0.05, 12)
  })
})
