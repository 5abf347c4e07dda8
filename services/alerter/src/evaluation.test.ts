import { type AlertPolicy, defaultAlertPolicy, type Transition } from '@cpi/alerting'
import { type CpiDefinition, loadCatalog } from '@cpi/cpi-core'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type CountRow,
  evaluateSteps,
  type RuleSet,
  rangesToRead,
  ruleSets,
  stepsBetween,
} from './evaluation.ts'
import { MIN, oneDayCpi, T } from './test-fixtures.ts'

const HOUR = 60 * MIN
const DAY = 24 * HOUR
const WEEK = 7 * DAY
const policy: AlertPolicy = { ...defaultAlertPolicy }
const links = { dashboardUrl: 'https://cpi.example.com', runbookUrl: 'https://runbooks.example.com/cpi' }

function rulesFor(definition: CpiDefinition): RuleSet {
  const [rules] = ruleSets([definition], policy)
  if (!rules) throw new Error(`no rules for ${definition.name}`)
  return rules
}

/** Minute rows of the whole CPI: `good` of 60 outcomes each minute in [from, to). */
function rows(from: number, to: number, good: (minute: number) => number, pending = 0): CountRow[] {
  const out: CountRow[] = []
  for (let minute = from; minute < to; minute += MIN)
    out.push({ dimension: 'all', value: 'all', minute, good: good(minute), total: 60, pending })
  return out
}

const minutes = (from: number, to: number) => {
  const out: number[] = []
  for (let at = from; at <= to; at += MIN) out.push(at)
  return out
}

/** `[to, minutes after T]` of the transitions of one rule and severity. */
const timeline = (transitions: readonly Transition[], rule: string, severity: string) =>
  transitions
    .filter((t) => t.alert.labels.rule === rule && t.alert.labels.severity === severity)
    .map((t) => [t.to, (t.at - T) / MIN])

describe('stepsBetween', () => {
  it('steps minute by minute after through, up to and including the watermark minute', () => {
    expect(stepsBetween(T, T + 3 * MIN + 30_000, 100)).toEqual([T + MIN, T + 2 * MIN, T + 3 * MIN])
    expect(stepsBetween(T, T + 3 * MIN, 100)).toEqual([T + MIN, T + 2 * MIN, T + 3 * MIN])
    expect(stepsBetween(T, T + 3 * MIN - 1, 100)).toEqual([T + MIN, T + 2 * MIN])
  })

  it('has no step while the watermark is within the minute after through', () => {
    expect(stepsBetween(T, T + 59_999, 100)).toEqual([])
    expect(stepsBetween(T, T, 100)).toEqual([])
    expect(stepsBetween(T, T - 5 * MIN, 100)).toEqual([])
  })

  it('keeps only the latest maxSteps steps after a long gap', () => {
    const steps = stepsBetween(T, T + 100 * MIN + 1, 10)
    expect(steps).toHaveLength(10)
    expect(steps[0]).toBe(T + 91 * MIN)
    expect(steps.at(-1)).toBe(T + 100 * MIN)
    expect(stepsBetween(T, T + 10 * MIN, 10)).toEqual(minutes(T + MIN, T + 10 * MIN))
  })

  it('gives whole-minute steps', () => {
    for (const step of stepsBetween(T, T + 17 * MIN + 42_123, 1440)) expect(step % MIN).toBe(0)
  })
})

describe('ruleSets on the built-in catalog', () => {
  let catalog: CpiDefinition[]
  beforeAll(async () => {
    catalog = await loadCatalog()
  })

  it('gives fast_quote (90 % over 28 days, page) no 14.4× tier and says why', () => {
    const fastQuote = ruleSets(catalog, policy).find((rules) => rules.cpi.name === 'fast_quote')
    expect(fastQuote?.cpi.target).toBe(0.9)
    expect(
      fastQuote?.cpi.tiers.map((tier) => [tier.severity, tier.factor, tier.longMs / MIN, tier.shortMs / MIN]),
    ).toEqual([
      ['page', 6, 336, 28],
      ['ticket', 3, 1344, 112],
      ['ticket', 1, 4032, 336],
    ])
    expect(fastQuote?.warnings).toEqual([
      'page tier 14.4× can never fire at target 90%: it needs an error rate of 144%',
    ])
  })

  it('reads back far enough for the longest tier, in whole minutes', () => {
    for (const rules of ruleSets(catalog, policy)) {
      const longest = Math.max(...rules.cpi.tiers.map((tier) => tier.longMs))
      expect(rules.lookbackMs, rules.cpi.name).toBeGreaterThanOrEqual(longest)
      expect(rules.lookbackMs).toBeGreaterThanOrEqual(policy.baselineWindowMs)
      expect(rules.lookbackMs % MIN).toBe(0)
    }
    const fastQuote = ruleSets(catalog, policy).find((rules) => rules.cpi.name === 'fast_quote')
    expect(fastQuote?.lookbackMs).toBe(4032 * MIN)
  })

  it('covers every CPI that is not a draft', () => {
    const draft = { ...oneDayCpi('draft_cpi', 0.9), lifecycle: 'draft' as const }
    const names = ruleSets([...catalog, draft], policy).map((rules) => rules.cpi.name)
    expect(names).toEqual(catalog.map((definition) => definition.name))
  })

  it('reads at least the no-data and baseline windows for a CPI that does not alert', () => {
    const rules = rulesFor(oneDayCpi('quiet_cpi', 0.9, 'none'))
    expect(rules.cpi.tiers).toEqual([])
    expect(rules.lookbackMs).toBe(HOUR)
  })
})

describe('rangesToRead', () => {
  it('reads the lookback before the first step and the baseline window of each previous week', () => {
    const rules = rulesFor(oneDayCpi('one_day', 0.9))
    expect(rules.lookbackMs).toBe(144 * MIN)
    const first = T + MIN
    const last = T + 10 * MIN
    expect(rangesToRead(rules, policy, first, last)).toEqual([
      { from: first - 144 * MIN, to: last },
      { from: first - HOUR - WEEK, to: last - WEEK },
      { from: first - HOUR - 2 * WEEK, to: last - 2 * WEEK },
      { from: first - HOUR - 3 * WEEK, to: last - 3 * WEEK },
      { from: first - HOUR - 4 * WEEK, to: last - 4 * WEEK },
    ])
    expect(rangesToRead(rules, { ...policy, baselineWeeks: 1 }, first, last)).toHaveLength(2)
  })

  it('reads no baseline weeks for a CPI that does not alert', () => {
    const rules = rulesFor(oneDayCpi('quiet_cpi', 0.9, 'none'))
    expect(rangesToRead(rules, policy, T, T + MIN)).toEqual([{ from: T - HOUR, to: T + MIN }])
  })
})

describe('evaluateSteps', () => {
  // 90 % over one day: the page tier is 6× over 12 min and 1 min (the 14.4× one cannot fire),
  // tickets 3× over 48 min and 4 min, 1× over 144 min and 12 min.
  const definition = oneDayCpi('one_day', 0.9)
  const rules = rulesFor(definition)
  const input = (overrides: Partial<Parameters<typeof evaluateSteps>[0]>) => ({
    rules,
    rows: [],
    steps: [],
    alerts: new Map(),
    policy,
    links,
    lastDataBefore: null,
    ...overrides,
  })

  // Healthy (60 of 60 good) until T, every outcome bad from minute T on.
  const outage = rows(T - 3 * HOUR, T + 30 * MIN, (minute) => (minute < T ? 60 : 0))

  it('has the tiers the test relies on', () => {
    expect(
      rules.cpi.tiers.map((tier) => [tier.severity, tier.factor, tier.longMs / MIN, tier.shortMs / MIN]),
    ).toEqual([
      ['page', 6, 12, 1],
      ['ticket', 3, 48, 4],
      ['ticket', 1, 144, 12],
    ])
  })

  it('makes the page alert of the whole CPI pending, then firing, at the expected steps', () => {
    const { transitions, alerts } = evaluateSteps(
      input({ rows: outage, steps: minutes(T - 5 * MIN, T + 12 * MIN) }),
    )
    // 8 bad minutes of 12 burn 8/12 / 0.1 = 6.7× ≥ 6 (7 of 12: 5.8×); firing 2 min later.
    expect(timeline(transitions, 'burn_rate', 'page')).toEqual([
      ['pending', 8],
      ['firing', 10],
    ])
    const page = transitions.find((t) => t.alert.labels.severity === 'page' && t.to === 'firing')
    expect(page?.alert.labels).toEqual({
      alertname: 'CpiBurnRate',
      cpi: 'one_day',
      dimension: 'all',
      segment: 'all',
      severity: 'page',
      rule: 'burn_rate',
    })
    expect(page?.notify).toBe(true)
    expect(page?.alert.threshold).toBe(6)
    expect(page?.alert.value).toBeCloseTo(10 / 1.2, 9)
    // The 3× ticket needs 15 bad minutes of 48: not yet at T + 12 min.
    expect(timeline(transitions, 'burn_rate', 'ticket')).toEqual([])
    expect(
      [...alerts.values()].map((alert) => [alert.labels.rule, alert.labels.severity, alert.state]),
    ).toEqual([['burn_rate', 'page', 'firing']])
  })

  it('gives the same transitions when the steps are split over two calls', () => {
    const whole = evaluateSteps(input({ rows: outage, steps: minutes(T, T + 20 * MIN) }))
    const first = evaluateSteps(input({ rows: outage, steps: minutes(T, T + 9 * MIN) }))
    const second = evaluateSteps(
      input({ rows: outage, steps: minutes(T + 10 * MIN, T + 20 * MIN), alerts: first.alerts }),
    )
    expect([...first.transitions, ...second.transitions]).toEqual(whole.transitions)
    expect(second.alerts).toEqual(whole.alerts)
    expect(timeline(whole.transitions, 'burn_rate', 'ticket')).toEqual([
      ['pending', 15],
      ['firing', 17],
    ])
  })

  it('never raises no_data for a CPI without any data before the steps', () => {
    const { transitions, conditions } = evaluateSteps(input({ steps: minutes(T, T + 3 * HOUR) }))
    expect(transitions).toEqual([])
    const noData = conditions.find((condition) => condition.rule === 'no_data')
    expect(noData?.active).toBe(false)
    expect(noData?.detail).toEqual({ rule: 'no_data', hadData: false, lastDataAt: null, silentForMs: null })
  })

  it('raises no_data once the data has stopped for longer than noDataAfterMs', () => {
    const healthyThenSilent = rows(T - 3 * HOUR, T, () => 60)
    const { transitions, conditions } = evaluateSteps(
      input({ rows: healthyThenSilent, steps: minutes(T, T + 65 * MIN) }),
    )
    // The last minute with data is T − 1 min, so data lasted until T; silent for > 60 min at T + 61.
    expect(timeline(transitions, 'no_data', 'ticket')).toEqual([
      ['pending', 61],
      ['firing', 63],
    ])
    expect(transitions.every((t) => t.alert.labels.rule === 'no_data')).toBe(true)
    const noData = conditions.find((condition) => condition.rule === 'no_data')
    expect(noData?.detail).toEqual({ rule: 'no_data', hadData: true, lastDataAt: T, silentForMs: 65 * MIN })
  })

  it('does not raise no_data while data keeps arriving, even outcomes still pending', () => {
    const known = rows(T - 3 * HOUR, T, () => 60)
    const stillPending = rows(T, T + 2 * HOUR, () => 0).map((row) => ({ ...row, total: 0, pending: 30 }))
    const { transitions } = evaluateSteps(
      input({ rows: [...known, ...stillPending], steps: minutes(T, T + 2 * HOUR) }),
    )
    expect(timeline(transitions, 'no_data', 'ticket')).toEqual([])
  })

  it('raises no_data at once for a CPI whose last data came before the ranges read', () => {
    const steps = minutes(T, T + 3 * MIN)
    const silent = evaluateSteps(input({ steps, lastDataBefore: T - 3 * HOUR }))
    expect(timeline(silent.transitions, 'no_data', 'ticket')).toEqual([
      ['pending', 0],
      ['firing', 2],
    ])
    const recent = evaluateSteps(input({ steps, lastDataBefore: T - 30 * MIN }))
    expect(recent.transitions).toEqual([])
  })

  it('evaluates each segment on its own rows', () => {
    const web = rows(T - 3 * HOUR, T + 12 * MIN, (minute) => (minute < T ? 60 : 0)).map((row) => ({
      ...row,
      dimension: 'channel',
      value: 'web',
    }))
    const phone = rows(T - 3 * HOUR, T + 12 * MIN, () => 60).map((row) => ({
      ...row,
      dimension: 'channel',
      value: 'phone',
    }))
    const all = rows(T - 3 * HOUR, T + 12 * MIN, (minute) => (minute < T ? 120 : 60)).map((row) => ({
      ...row,
      total: 120,
    }))
    const { transitions } = evaluateSteps(
      input({ rows: [...web, ...phone, ...all], steps: minutes(T, T + 12 * MIN) }),
    )
    const pages = transitions.filter((t) => t.alert.labels.severity === 'page')
    // Web burns 10× like the outage above; the whole CPI at 50 % errors burns 5×, under the 6× page.
    expect(
      pages.map((t) => [t.alert.labels.dimension, t.alert.labels.segment, t.to, (t.at - T) / MIN]),
    ).toEqual([
      ['channel', 'web', 'pending', 8],
      ['channel', 'web', 'firing', 10],
    ])
  })
})
