import { type AlertRecord, defaultAlertPolicy, type Transition } from '@cpi/alerting'
import type { Logger } from '@cpi/logger'
import { describe, expect, it, vi } from 'vitest'
import { type CpiRulesInput, evaluateCpis, MAX_STEPS } from './cpi-rules-stage.ts'
import { type CountRow, type RuleSet, rangesToRead, ruleSets } from './evaluation.ts'
import { type Plan, type State, startPlan } from './round-state.ts'
import { MIN, oneDayCpi, T } from './test-fixtures.ts'

// The CPI rules stage without ClickHouse: the minute counts and latest outcomes are functions
// the test gives. What it pins: where a first round starts, which reads it makes, the rules
// walked over what they return (firing, no data), the steps carried from round to round, and
// what it leaves of other alerts.

const HOUR = 60 * MIN
const DAY = 24 * HOUR
const policy = { ...defaultAlertPolicy }
const links = { dashboardUrl: 'https://cpi.example.com', runbookUrl: 'https://runbooks.example.com/cpi' }

const rules: RuleSet[] = ruleSets([oneDayCpi('one_day'), oneDayCpi('other_day')], policy)
const [oneDay] = rules as [RuleSet, RuleSet]

/** Minute rows of the whole CPI in [from, to): `good` of 60 outcomes each minute. */
function rows(from: number, to: number, good: (minute: number) => number): CountRow[] {
  const out: CountRow[] = []
  for (let minute = from; minute < to; minute += MIN)
    out.push({ dimension: 'all', value: 'all', minute, good: good(minute), total: 60, pending: 0 })
  return out
}

const emptyState = (through?: number): State => ({
  alerts: new Map(),
  through,
  progress: new Map(),
  unnotified: new Set(),
  watermark: undefined,
})

/** The stage's input over stored rows per CPI and latest outcomes; `reads` records every read. */
function fakeInput(stored: Record<string, CountRow[]>, lastOutcomes = new Map<string, number>()) {
  const reads: string[] = []
  const warn = vi.fn()
  const input: CpiRulesInput = {
    rules,
    policy,
    links,
    lookbackMs: 2 * HOUR,
    logger: { warn } as unknown as Logger,
    minuteCounts: async ({ cpi, from, to }) => {
      reads.push(`counts ${cpi} ${(from - T) / MIN}..${(to - T) / MIN}`)
      return (stored[cpi] ?? []).filter((row) => row.minute >= from && row.minute <= to)
    },
    lastOutcomeTimes: async (before) => {
      reads.push(`last outcomes before ${(before - T) / MIN}`)
      return lastOutcomes
    },
  }
  return { input, reads, warn }
}

/** `[rule, severity, to, minutes after T]` of each transition. */
const timeline = (transitions: readonly Transition[]) =>
  transitions.map((t) => [t.alert.labels.rule, t.alert.labels.severity, t.to, (t.at - T) / MIN])

describe('evaluateCpis', () => {
  it('reads nothing and walks no step before any watermark', async () => {
    const { input, reads } = fakeInput({})
    const plan = startPlan(emptyState(), undefined)
    await evaluateCpis(input, plan)
    expect(reads).toEqual([])
    expect(plan).toEqual(startPlan(emptyState(), undefined))
  })

  it('starts a first round lookbackMs before the watermark, in whole minutes, and walks to the watermark minute', async () => {
    const { input, reads } = fakeInput({})
    const plan = startPlan(emptyState(), T + 30_000)
    await evaluateCpis(input, plan)
    expect(plan.through).toBe(T - 2 * HOUR)
    expect(plan.lastStep).toBe(T)
    // Each CPI's ranges (its lookback and the baseline weeks), then its latest outcome before them.
    const firstStep = T - 2 * HOUR + MIN
    const expected = rules.flatMap((set) => [
      ...rangesToRead(set, policy, firstStep, T).map(
        (range) => `counts ${set.cpi.name} ${(range.from - T) / MIN}..${(range.to - T) / MIN}`,
      ),
      `last outcomes before ${(firstStep - set.lookbackMs - T) / MIN}`,
    ])
    expect(reads).toEqual(expected)
  })

  it('has no step to walk while the watermark stays within the minute after through', async () => {
    const { input, reads } = fakeInput({})
    const plan = startPlan(emptyState(T), T + 59_999)
    await evaluateCpis(input, plan)
    expect(plan.lastStep).toBeUndefined()
    expect(plan.through).toBe(T)
    expect(reads).toEqual([])
  })

  it('fires the page alert of a CPI whose outcomes went bad, round after round, on its own rows only', async () => {
    // Healthy until T, every outcome bad from T on: pending at T + 8 min, firing 2 min later.
    const { input } = fakeInput({ one_day: rows(T - 3 * HOUR, T + 30 * MIN, (m) => (m < T ? 60 : 0)) })
    const state = emptyState(T - MIN)
    const transitions: Transition[] = []
    for (const watermark of [T + 5 * MIN, T + 9 * MIN + 10_000, T + 12 * MIN]) {
      const plan = startPlan(state, watermark)
      await evaluateCpis(input, plan)
      transitions.push(...plan.transitions)
      // As the record stage would: the next round goes on after the last step walked.
      state.alerts = plan.alerts
      state.through = plan.lastStep ?? plan.through
    }
    expect(timeline(transitions)).toEqual([
      ['burn_rate', 'page', 'pending', 8],
      ['burn_rate', 'page', 'firing', 10],
    ])
    expect(transitions.every((t) => t.alert.labels.cpi === 'one_day')).toBe(true)
    expect(state.through).toBe(T + 12 * MIN)
    expect([...state.alerts.values()].map((a) => [a.labels.cpi, a.labels.severity, a.state])).toEqual([
      ['one_day', 'page', 'firing'],
    ])
  })

  it('keeps a pending cycle that ended, so the seq of its fingerprint goes on', async () => {
    // Bad for 8 minutes only: pending at T + 8, over at T + 9 without firing.
    const { input } = fakeInput({
      one_day: rows(T - 3 * HOUR, T + 30 * MIN, (m) => (m >= T && m < T + 8 * MIN ? 0 : 60)),
    })
    const plan = startPlan(emptyState(T - MIN), T + 10 * MIN)
    await evaluateCpis(input, plan)
    expect(timeline(plan.transitions)).toEqual([
      ['burn_rate', 'page', 'pending', 8],
      ['burn_rate', 'page', 'inactive', 9],
    ])
    const ended = plan.transitions[1] as Transition
    expect(plan.alerts.get(ended.fingerprint)).toEqual(ended.alert)
    expect(ended.alert.seq).toBe(2)
  })

  it('raises no_data for a CPI whose latest outcome came long before the rows read', async () => {
    const { input } = fakeInput({}, new Map([['other_day', T - 3 * DAY]]))
    const plan = startPlan(emptyState(T - MIN), T + 3 * MIN)
    await evaluateCpis(input, plan)
    expect(timeline(plan.transitions)).toEqual([
      ['no_data', 'ticket', 'pending', 0],
      ['no_data', 'ticket', 'firing', 2],
    ])
    expect(plan.transitions.every((t) => t.alert.labels.cpi === 'other_day')).toBe(true)
  })

  it('leaves the alerts of other rules as they are', async () => {
    const stall = { fingerprint: 'stall', labels: { rule: 'pipeline_stalled', cpi: '' } } as AlertRecord
    const state = emptyState(T - MIN)
    state.alerts.set('stall', stall)
    const plan: Plan = startPlan(state, T + 5 * MIN)
    await evaluateCpis(fakeInput({}).input, plan)
    expect(plan.alerts.get('stall')).toBe(stall)
    expect(state.alerts.size).toBe(1)
  })

  it('skips a gap longer than a day with a warning, walking the latest day only', async () => {
    const { input, reads, warn } = fakeInput({})
    const plan = startPlan(emptyState(T - 3 * DAY), T)
    await evaluateCpis(input, plan)
    expect(warn).toHaveBeenCalledOnce()
    expect(warn.mock.calls[0]?.[1]).toBe('skipping an evaluation gap longer than a day')
    const firstStep = T - (MAX_STEPS - 1) * MIN
    expect(reads[0]).toBe(`counts one_day ${(firstStep - oneDay.lookbackMs - T) / MIN}..0`)
    expect(plan.lastStep).toBe(T)
  })
})
