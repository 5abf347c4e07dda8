import { describe, expect, it } from 'vitest'
import { breachConditions } from './breaches.ts'

const links = { dashboardUrl: 'http://cpi.example.test/', runbookUrl: 'http://cpi.example.test/runbook' }
const cpis = [
  { name: 'first_reply_2h', displayName: 'First reply within 2 h', alerting: 'page' as const },
  { name: 'fast_quote', displayName: 'Fast quote', alerting: 'ticket' as const },
  { name: 'quiet', displayName: 'Quiet', alerting: 'none' as const },
]
const counts = [
  { cpi: 'first_reply_2h', dimension: 'all', value: 'all', count: 5 },
  { cpi: 'first_reply_2h', dimension: 'channel', value: 'email', count: 3 },
  { cpi: 'first_reply_2h', dimension: 'channel', value: 'chat', count: 2 },
  { cpi: 'first_reply_2h', dimension: 'region', value: 'north', count: 4 },
  { cpi: 'first_reply_2h', dimension: 'region', value: 'south', count: 1 },
  { cpi: 'fast_quote', dimension: 'all', value: 'all', count: 1 },
  { cpi: 'quiet', dimension: 'all', value: 'all', count: 99 },
]

describe('breachConditions', () => {
  it('fires per CPI once enough open interactions are about to breach, naming where most are', () => {
    const conditions = breachConditions({
      cpis,
      counts,
      policy: { withinMs: 15 * 60_000, minInteractions: 2 },
      links,
    })
    // A CPI whose alerting is none is not watched.
    expect(conditions.map((condition) => [condition.labels.cpi, condition.active, condition.value])).toEqual([
      ['first_reply_2h', true, 5],
      ['fast_quote', false, 1],
    ])
    const [reply] = conditions
    expect(reply?.labels).toMatchObject({
      alertname: 'CpiBreachImminent',
      rule: 'about_to_breach',
      severity: 'ticket',
      dimension: 'all',
      segment: 'all',
    })
    expect(reply?.threshold).toBe(2)
    expect(reply?.annotations.summary).toBe(
      'First reply within 2 h: 5 open interactions breach within 15 min',
    )
    expect(reply?.annotations.description).toContain(
      'Most in region=north (4), channel=email (3), channel=chat (2).',
    )
    expect(reply?.annotations.runbook).toBe('http://cpi.example.test/runbook#cpibreachimminent')
    expect(reply?.annotations.dashboard).toBe('http://cpi.example.test/#breaching-heading')
    expect(reply?.detail).toEqual({
      rule: 'about_to_breach',
      interactions: 5,
      withinMs: 15 * 60_000,
      topSegments: [
        ['region', 'north', 4],
        ['channel', 'email', 3],
        ['channel', 'chat', 2],
      ],
    })
  })

  it('is inactive (and resolves a firing alert) when nothing is about to breach', () => {
    const conditions = breachConditions({
      cpis,
      counts: [],
      policy: { withinMs: 60_000, minInteractions: 1 },
      links,
    })
    expect(conditions.map((condition) => [condition.active, condition.value])).toEqual([
      [false, 0],
      [false, 0],
    ])
    expect(conditions[0]?.annotations.summary).toBe(
      'First reply within 2 h: 0 open interactions breach within 1 min',
    )
  })
})
