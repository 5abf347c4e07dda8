import { describe, expect, it } from 'vitest'
import { type AlertingLevel, burnTiers } from './burn-tiers.ts'
import {
  type Condition,
  type CpiUnderEvaluation,
  defaultAlertPolicy,
  type EvaluationInput,
  evaluate,
  type Rule,
} from './conditions.ts'
import { fingerprint } from './labels.ts'
import { type AlertRecord, advance, type Transition } from './lifecycle.ts'
import { allSegment, type MinuteCounts, MinuteSeries, type Segment } from './minute-series.ts'

const MIN = 60_000
const H = 60 * MIN
const D = 24 * H
const T = Date.parse('2026-11-22T10:00:00Z')
const links = {
  dashboardUrl: 'https://cpi.example.com/dashboard/',
  runbookUrl: 'https://runbooks.example.com/cpi',
}
const web: Segment = { dimension: 'channel', value: 'web' }

/** fast_quote at target 90 % over a 1-day window: page 6× over 12 min and 1 min; tickets 3× (48/4), 1× (144/12). */
function fastQuote(target = 0.9, alerting: AlertingLevel = 'page'): CpiUnderEvaluation {
  return {
    name: 'fast_quote',
    displayName: 'Fast quote',
    target,
    tiers: burnTiers({ target, window: D }, alerting).tiers,
    alerting,
  }
}

/** Rows for the minutes [from, to) after T; `shape(minute)` gives [bad, total]. */
function rows(
  from: number,
  to: number,
  shape: (minute: number) => [bad: number, total: number],
): MinuteCounts[] {
  const result: MinuteCounts[] = []
  for (let minute = from; minute < to; minute++) {
    const [bad, total] = shape(minute)
    result.push({ minute: T + minute * MIN, good: total - bad, total })
  }
  return result
}

function input(overrides: Partial<EvaluationInput> & { points?: MinuteCounts[] }): EvaluationInput {
  const { points = [], ...rest } = overrides
  return {
    cpi: fastQuote(),
    segment: web,
    series: new MinuteSeries(points),
    at: T + 12 * MIN,
    policy: defaultAlertPolicy,
    links,
    ...rest,
  }
}

function find(
  conditions: Condition[],
  rule: Rule,
  severity = rule === 'burn_rate' ? 'page' : 'ticket',
): Condition {
  const found = conditions.find(
    (condition) => condition.rule === rule && condition.labels.severity === severity,
  )
  if (found === undefined) throw new Error(`no ${severity} ${rule} condition`)
  return found
}

const pageBurn = (overrides: Parameters<typeof input>[0]) => find(evaluate(input(overrides)), 'burn_rate')

describe('burn_rate conditions', () => {
  it('are active when the long and the short window both burn at least the factor (7× against 6×)', () => {
    // 12 minutes × 20 outcomes, 14 bad each: 70 % errors = 7× the 10 % budget in both windows.
    const condition = pageBurn({ points: rows(0, 12, () => [14, 20]) })
    expect(condition.active).toBe(true)
    expect(condition.value).toBeCloseTo(7, 9)
    expect(condition.threshold).toBe(6)
    expect(condition.detail).toMatchObject({
      rule: 'burn_rate',
      tiers: [
        {
          factor: 6,
          long: { lengthMs: 12 * MIN, good: 72, total: 240, burnRate: expect.closeTo(7, 9) },
          short: { lengthMs: MIN, good: 6, total: 20, burnRate: expect.closeTo(7, 9) },
          enoughEvents: true,
          met: true,
        },
      ],
    })
  })

  it('are inactive when the long window burns 7× but the short one has recovered (0×)', () => {
    // 168 bad of 240 over 12 min (7×), but the last minute (20 outcomes, enough) is clean.
    const condition = pageBurn({
      points: rows(0, 12, (minute) => [minute < 3 ? 16 : minute < 11 ? 15 : 0, 20]),
    })
    expect(condition.detail).toMatchObject({
      tiers: [
        {
          long: { total: 240, good: 72 },
          short: { total: 20, good: 20, burnRate: 0 },
          enoughEvents: true,
          met: false,
        },
      ],
    })
    expect(condition.active).toBe(false)
    expect(condition.value).toBeCloseTo(7, 9)
  })

  it('are inactive below minEvents even at 100 % errors, in either window', () => {
    const fewEverywhere = pageBurn({ points: rows(0, 12, () => [1, 1]) })
    expect(fewEverywhere.active).toBe(false)
    expect(fewEverywhere.value).toBeCloseTo(10, 9)
    expect(fewEverywhere.detail).toMatchObject({ tiers: [{ enoughEvents: false, met: false }] })
    expect(fewEverywhere.annotations.description).toContain('Fewer than 20 outcomes in a window')

    // 30 a minute, but only 19 in the last minute (the short window).
    const fewInShort = pageBurn({ points: rows(0, 12, (minute) => (minute < 11 ? [30, 30] : [19, 19])) })
    expect(fewInShort.active).toBe(false)
    const justEnough = pageBurn({ points: rows(0, 12, (minute) => (minute < 11 ? [30, 30] : [20, 20])) })
    expect(justEnough.active).toBe(true)
  })

  it('fire at exactly the factor, even where floating point lands a hair below it', () => {
    // Target 95 %: 30 % errors is exactly 6×, but 0.3 / (1 − 0.95) is 5.999999999999995 in doubles.
    expect(0.3 / (1 - 0.95)).toBeLessThan(6)
    const exact = pageBurn({ cpi: fastQuote(0.95), points: rows(0, 12, () => [6, 20]) })
    expect(exact.active).toBe(true)
    expect(exact.threshold).toBe(6)
    // One bad outcome fewer in the short window: 25 % < 30 %.
    const below = pageBurn({
      cpi: fastQuote(0.95),
      points: rows(0, 12, (minute) => [minute === 11 ? 5 : 6, 20]),
    })
    expect(below.active).toBe(false)
  })

  it('report the fastest tier that is met, else the tier with the highest long-window burn', () => {
    // Target 95 %: page tiers 14.4× (2 min / 1 min) and 6× (12 min / 1 min). 40 % errors: 8×.
    const met = pageBurn({ cpi: fastQuote(0.95), points: rows(0, 12, () => [8, 20]) })
    expect([met.active, met.threshold]).toEqual([true, 6])
    expect(met.value).toBeCloseTo(8, 9)
    // A burst in the last 2 minutes: 14.4× reached in its own windows (80 % ≥ 72 %).
    const burst = pageBurn({
      cpi: fastQuote(0.95),
      points: rows(0, 12, (minute) => [minute >= 10 ? 16 : 0, 20]),
    })
    expect([burst.active, burst.threshold]).toEqual([true, 14.4])
    expect(burst.value).toBeCloseTo(16, 9)
    // Nothing met: the tier whose long window burns hardest is shown (here the 2-minute one).
    const calm = pageBurn({
      cpi: fastQuote(0.95),
      points: rows(0, 12, (minute) => [minute >= 10 ? 4 : 0, 20]),
    })
    expect([calm.active, calm.threshold]).toEqual([false, 14.4])
    expect(calm.value).toBeCloseTo(4, 9)
  })

  it('yield one condition per severity present in the tiers', () => {
    const paging = evaluate(input({ points: rows(0, 12, () => [14, 20]) }))
    expect(paging.filter((c) => c.rule === 'burn_rate').map((c) => c.labels.severity)).toEqual([
      'page',
      'ticket',
    ])
    // alerting 'ticket': all tiers are tickets, so a single burn_rate condition.
    const ticketing = evaluate(input({ cpi: fastQuote(0.9, 'ticket'), points: rows(0, 12, () => [14, 20]) }))
    expect(ticketing.filter((c) => c.rule === 'burn_rate').map((c) => c.labels.severity)).toEqual(['ticket'])
    expect(find(ticketing, 'burn_rate', 'ticket')).toMatchObject({ active: true, threshold: 6 })
    // Target 50 %: only the 1× ticket tier exists.
    const lenient = evaluate(input({ cpi: fastQuote(0.5), points: rows(0, 12, () => [14, 20]) }))
    expect(lenient.filter((c) => c.rule === 'burn_rate').map((c) => c.labels.severity)).toEqual(['ticket'])
  })

  it("yield nothing at all for a CPI with alerting 'none'", () => {
    expect(evaluate(input({ cpi: fastQuote(0.9, 'none'), segment: allSegment, hadData: true }))).toEqual([])
  })
})

describe('a step from 2 % to 100 % errors (target 90 %, 1-day window, 60 outcomes a minute)', () => {
  const DROP = 300 // minutes after T: the first bad minute
  const RECOVER = DROP + 30 // the first healthy minute again
  const points = rows(0, RECOVER + 200, (minute) => [minute >= DROP && minute < RECOVER ? 60 : 1.2, 60])
  const series = new MinuteSeries(points)
  const cpi = fastQuote()
  const policy = defaultAlertPolicy

  // Replays every minute boundary through evaluate and advance, as the alerter's catch-up does.
  const transitions: Transition[] = []
  const firstActive = new Map<string, number>()
  let alerts: ReadonlyMap<string, AlertRecord> = new Map()
  for (let minute = 200; minute <= RECOVER + 200; minute++) {
    const at = T + minute * MIN
    const conditions = evaluate({ cpi, segment: web, series, at, policy, links })
    for (const condition of conditions)
      if (condition.active && !firstActive.has(condition.labels.severity))
        firstActive.set(condition.labels.severity, at)
    const step = advance(alerts, conditions, at, policy)
    alerts = step.alerts
    transitions.push(...step.transitions)
  }
  const of = (severity: string) =>
    transitions
      .filter((transition) => transition.alert.labels.severity === severity)
      .map((transition) => [transition.to, (transition.at - T) / MIN - DROP])

  it('pages when the 12-minute error rate reaches 60 %: the closed-form detection time', () => {
    // After k bad minutes the 12-minute window holds k·60 bad + (12 − k)·1.2 bad of 720:
    // ≥ 60 % from k = ⌈(0.6 − 0.02)·12 / (1 − 0.02)⌉ = ⌈7.1⌉ = 8; the 1-minute window is at 100 % by then.
    const k = Math.ceil(((0.6 - 0.02) * 12) / (1 - 0.02))
    expect(k).toBe(8)
    expect(firstActive.get('page')).toBe(T + (DROP + k) * MIN)
  })

  it('fires pendingFor (2 min) after detection and resolves the minute the short window recovers', () => {
    expect(of('page')).toEqual([
      ['pending', 8],
      ['firing', 10],
      // At RECOVER + 1 min the 1-minute window holds one healthy minute (2 %): 0.2× < 6×.
      ['resolved', 30 + 1],
    ])
    expect(
      transitions.filter((t) => t.notify && t.alert.labels.severity === 'page').map((t) => t.to),
    ).toEqual(['firing', 'resolved'])
  })

  it('opens a ticket through the 1× tier (10 % over 144 min and 12 min), resolved once its 12 minutes are clean', () => {
    // 144-minute window: k·60 + (144 − k)·1.2 ≥ 864 from k = ⌈691.2 / 58.8⌉ = 12 (before the 3× tier at k = 14).
    expect(firstActive.get('ticket')).toBe(T + (DROP + Math.ceil(691.2 / 58.8)) * MIN)
    // The 12-minute window drops below 10 % only when all 12 minutes are healthy again.
    expect(of('ticket')).toEqual([
      ['pending', 12],
      ['firing', 14],
      ['resolved', 30 + 12],
    ])
  })

  it('ends with every alert resolved and nothing pending', () => {
    expect([...alerts.values()].map((alert) => [alert.labels.severity, alert.state, alert.seq])).toEqual(
      expect.arrayContaining([
        ['page', 'resolved', 3],
        ['ticket', 'resolved', 3],
      ]),
    )
    expect(alerts.size).toBe(2)
  })
})

describe('baseline_drop', () => {
  const baseline = (current: [good: number, total: number], weeks: [good: number, total: number][]) =>
    find(
      evaluate(
        input({
          baseline: {
            current: { good: current[0], total: current[1] },
            previousWeeks: weeks.map(([good, total]) => ({ good, total })),
          },
        }),
      ),
      'baseline_drop',
    )

  it('is active when the ratio falls more than 10 points below the same hour of previous weeks', () => {
    const condition = baseline(
      [70, 100],
      [
        [85, 100],
        [86, 100],
        [84, 100],
        [85, 100],
      ],
    )
    expect(condition.active).toBe(true)
    expect(condition.value).toBeCloseTo(0.7, 12)
    expect(condition.threshold).toBeCloseTo(0.75, 12)
    expect(condition.labels).toMatchObject({
      alertname: 'CpiBaselineDrop',
      severity: 'ticket',
      rule: 'baseline_drop',
    })
    expect(condition.annotations.summary).toBe(
      'Fast quote (channel=web) is at 70% over the last 1 h, 15 points below its usual 85% for this hour (threshold 10 points)',
    )
  })

  it('is inactive at a drop of exactly 10 points ("by more than"), though 0.8 − 0.7 exceeds 0.1 in doubles', () => {
    expect(0.8 - 0.7).toBeGreaterThan(0.1)
    expect(baseline([70, 100], [[80, 100]]).active).toBe(false)
    expect(baseline([69, 100], [[80, 100]]).active).toBe(true)
  })

  it('pools the weeks (Σgood / Σtotal), not the mean of their ratios', () => {
    // Ratios 90 % and 50 %: mean 70 %, pooled 590/1100 = 53.6 %. At 55 % only the mean would alert.
    const condition = baseline(
      [55, 100],
      [
        [90, 100],
        [500, 1000],
      ],
    )
    expect(condition.detail).toMatchObject({ baselineRatio: expect.closeTo(590 / 1100, 12), weeksUsed: 2 })
    expect(condition.active).toBe(false)
  })

  it('leaves out previous weeks with fewer than minEvents outcomes', () => {
    // With the 10-outcome week the baseline would be 80/110 = 72.7 % (a drop of 7.7 points).
    const condition = baseline(
      [65, 100],
      [
        [0, 10],
        [80, 100],
      ],
    )
    expect(condition.detail).toMatchObject({ baselineRatio: 0.8, weeksUsed: 1 })
    expect(condition.active).toBe(true)
  })

  it('uses only baselineWeeks previous weeks (4)', () => {
    const condition = baseline(
      [70, 100],
      [
        [85, 100],
        [85, 100],
        [85, 100],
        [85, 100],
        [0, 10_000],
      ],
    )
    expect(condition.detail).toMatchObject({ baselineRatio: 0.85, weeksUsed: 4 })
  })

  it('is inactive, not an error, without enough current outcomes, without a qualifying week, or without a baseline', () => {
    const tooFew = baseline([0, 19], [[85, 100]])
    expect(tooFew.active).toBe(false)
    expect(tooFew.detail).toMatchObject({ skipped: 'fewer than 20 outcomes in the last 1 h' })
    const noWeek = baseline([0, 100], [[5, 19]])
    expect(noWeek.active).toBe(false)
    expect(noWeek.detail).toMatchObject({
      skipped: 'no previous week has 20 outcomes or more in the same 1 h',
    })
    const none = find(evaluate(input({})), 'baseline_drop')
    expect(none.active).toBe(false)
    expect(none.annotations.summary).toBe(
      'Fast quote (channel=web): no baseline comparison (no baseline counts were given)',
    )
  })
})

describe('no_data', () => {
  const noData = (overrides: Partial<EvaluationInput>) =>
    find(evaluate(input({ segment: allSegment, at: T, ...overrides })), 'no_data')

  it('is active when a CPI that had data has been silent longer than noDataAfterMs', () => {
    const condition = noData({ hadData: true, lastDataAt: T - 61 * MIN })
    expect(condition.active).toBe(true)
    expect([condition.value, condition.threshold]).toEqual([61 * MIN, H])
    expect(condition.annotations.summary).toBe(
      'Fast quote has received no outcomes for 1 h 1 min (threshold 1 h)',
    )
  })

  it('is inactive at exactly noDataAfterMs, and for a CPI that never had data', () => {
    expect(noData({ hadData: true, lastDataAt: T - 60 * MIN }).active).toBe(false)
    expect(noData({ hadData: false, lastDataAt: null }).active).toBe(false)
    expect(noData({}).active).toBe(false)
  })

  it('is active when a CPI that had data has none within the lookback (lastDataAt null)', () => {
    const condition = noData({ hadData: true, lastDataAt: null })
    expect(condition.active).toBe(true)
    expect(condition.value).toBe(Number.POSITIVE_INFINITY)
    expect(condition.detail).toEqual({ rule: 'no_data', hadData: true, lastDataAt: null, silentForMs: null })
  })

  it('exists only for the all segment', () => {
    const rules = (segment: Segment) =>
      evaluate(input({ segment, hadData: true, lastDataAt: null })).map((c) => c.rule)
    expect(rules(allSegment)).toEqual(['burn_rate', 'burn_rate', 'baseline_drop', 'no_data'])
    expect(rules(web)).toEqual(['burn_rate', 'burn_rate', 'baseline_drop'])
  })
})

describe('labels, fingerprints and annotations', () => {
  it('label every condition with strings naming the alert, CPI, segment, severity and rule', () => {
    const conditions = evaluate(input({ segment: allSegment, hadData: true }))
    expect(conditions.map((condition) => condition.labels)).toEqual([
      {
        alertname: 'CpiBurnRate',
        cpi: 'fast_quote',
        dimension: 'all',
        segment: 'all',
        severity: 'page',
        rule: 'burn_rate',
      },
      {
        alertname: 'CpiBurnRate',
        cpi: 'fast_quote',
        dimension: 'all',
        segment: 'all',
        severity: 'ticket',
        rule: 'burn_rate',
      },
      {
        alertname: 'CpiBaselineDrop',
        cpi: 'fast_quote',
        dimension: 'all',
        segment: 'all',
        severity: 'ticket',
        rule: 'baseline_drop',
      },
      {
        alertname: 'CpiNoData',
        cpi: 'fast_quote',
        dimension: 'all',
        segment: 'all',
        severity: 'ticket',
        rule: 'no_data',
      },
    ])
  })

  it('give a fingerprint that ignores key order and values, but not any label', () => {
    const labels = find(evaluate(input({})), 'burn_rate').labels
    const reordered = Object.fromEntries(Object.entries(labels).reverse())
    expect(fingerprint(reordered)).toBe(fingerprint(labels))
    // Pinned: stored alerts are keyed by it, so a change of the hashing is a breaking change.
    expect(fingerprint(labels)).toBe('9645374dd4e9b10b')
    expect(fingerprint(labels)).toMatch(/^[0-9a-f]{16}$/)
    const burning = find(evaluate(input({ points: rows(0, 12, () => [14, 20]) })), 'burn_rate')
    expect(fingerprint(burning.labels)).toBe(fingerprint(labels))
    expect(fingerprint({ ...labels, segment: 'phone' })).not.toBe(fingerprint(labels))
    expect(fingerprint({ ...labels, severity: 'ticket' })).not.toBe(fingerprint(labels))
    // Names and values cannot run into each other.
    expect(fingerprint({ a: 'b,c' })).not.toBe(fingerprint({ a: 'b', c: '' }))
  })

  it('summarise the burn in one sentence with the measured value and the threshold', () => {
    // 41 bad of 50 a minute: 82 % errors = 8.2× at target 90 %.
    const condition = pageBurn({ points: rows(0, 12, () => [41, 50]) })
    expect(condition.annotations.summary).toBe(
      'Fast quote (channel=web) burns its error budget 8.2× (page threshold 6×) over 12 min and 1 min',
    )
    expect(condition.annotations.description).toBe(
      '492 of 600 outcomes missed over the last 12 min (82%); 41 of 50 outcomes missed over the last 1 min (82%). ' +
        'The 6× tier fires at an error rate of 60% in both windows (objective 90%) and has then burnt 5% of the error budget.',
    )
    expect(condition.annotations.cpiDisplayName).toBe('Fast quote')
  })

  it('link the runbook section of the rule and the dashboard of the segment, URL-encoded', () => {
    const condition = pageBurn({ segment: { dimension: 'region', value: 'north & south/east' } })
    expect(condition.annotations.dashboard).toBe(
      'https://cpi.example.com/dashboard/?cpi=fast_quote&by=region&segment=north%20%26%20south%2Feast',
    )
    expect(condition.annotations.runbook).toBe('https://runbooks.example.com/cpi#cpiburnrate')
    expect(condition.annotations.summary).toMatch(/^Fast quote \(region=north & south\/east\) burns/)
  })
})
