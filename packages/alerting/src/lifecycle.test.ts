import { describe, expect, it } from 'vitest'
import type { AlertLabels, Condition } from './conditions.ts'
import { fingerprint } from './labels.ts'
import { type AlertRecord, advance } from './lifecycle.ts'

const MIN = 60_000
const T = Date.parse('2026-11-22T10:00:00Z')
const policy = { pendingForMs: 2 * MIN }

const webLabels: AlertLabels = {
  alertname: 'CpiBurnRate',
  cpi: 'fast_quote',
  dimension: 'channel',
  segment: 'web',
  severity: 'page',
  rule: 'burn_rate',
}
const phoneLabels: AlertLabels = { ...webLabels, segment: 'phone' }
const WEB = fingerprint(webLabels)
const PHONE = fingerprint(phoneLabels)

function condition(active: boolean, value = active ? 8 : 1, labels: AlertLabels = webLabels): Condition {
  return {
    rule: 'burn_rate',
    labels,
    active,
    value,
    threshold: 6,
    annotations: {
      summary: `burns ${value}×`,
      description: '',
      runbook: 'https://runbooks.example.com/cpi#cpiburnrate',
      dashboard: 'https://cpi.example.com/?cpi=fast_quote&by=channel&segment=web',
      cpiDisplayName: 'Fast quote',
    },
    detail: { rule: 'burn_rate', tiers: [] },
  }
}

/** Runs advance minute by minute; `steps[i]` are the conditions at T + i minutes. */
function run(steps: Condition[][], start: ReadonlyMap<string, AlertRecord> = new Map(), stepPolicy = policy) {
  let alerts = start
  const transitions = []
  for (const [index, conditions] of steps.entries()) {
    const result = advance(alerts, conditions, T + index * MIN, stepPolicy)
    alerts = result.alerts
    transitions.push(...result.transitions)
  }
  return { alerts, transitions }
}

const summary = (transitions: { to: string; at: number; seq: number; notify: boolean }[]) =>
  transitions.map((t) => [t.to, (t.at - T) / MIN, t.seq, t.notify])

describe('advance', () => {
  it('makes an active condition pending, then firing once active for pendingForMs', () => {
    const { alerts, transitions } = run([[condition(true)], [condition(true)], [condition(true, 9)]])
    expect(summary(transitions)).toEqual([
      ['pending', 0, 1, false],
      ['firing', 2, 2, true],
    ])
    expect(transitions[0]?.from).toBe('inactive')
    expect(alerts.get(WEB)).toEqual({
      fingerprint: WEB,
      labels: webLabels,
      annotations: condition(true, 9).annotations,
      state: 'firing',
      activeSince: T,
      firedAt: T + 2 * MIN,
      resolvedAt: null,
      value: 9,
      threshold: 6,
      updatedAt: T + 2 * MIN,
      seq: 2,
    })
  })

  it('fires at once when pendingForMs is 0, in one notifying transition', () => {
    const { alerts, transitions } = run([[condition(true)]], new Map(), { pendingForMs: 0 })
    expect(summary(transitions)).toEqual([['firing', 0, 1, true]])
    expect(transitions[0]?.from).toBe('inactive')
    expect(alerts.get(WEB)).toMatchObject({ state: 'firing', activeSince: T, firedAt: T, seq: 1 })
  })

  it('drops a pending alert whose condition goes away before it fires, without notifying', () => {
    const { alerts, transitions } = run([[condition(true)], [condition(true)], [condition(false)]])
    expect(summary(transitions)).toEqual([
      ['pending', 0, 1, false],
      ['inactive', 2, 2, false],
    ])
    expect(transitions[1]).toMatchObject({
      from: 'pending',
      to: 'inactive',
      alert: { firedAt: null, resolvedAt: T + 2 * MIN },
    })
    expect(alerts.size).toBe(0)
  })

  it('resolves a firing alert when its condition is inactive, or missing altogether', () => {
    const inactive = run([[condition(true)], [condition(true)], [condition(true)], [condition(false, 0.5)]])
    expect(summary(inactive.transitions).at(-1)).toEqual(['resolved', 3, 3, true])
    expect(inactive.alerts.get(WEB)).toMatchObject({
      state: 'resolved',
      firedAt: T + 2 * MIN,
      resolvedAt: T + 3 * MIN,
      value: 0.5,
      annotations: { summary: 'burns 0.5×' },
    })

    // The segment disappeared: no condition at all counts as inactive; the last values stay.
    const missing = run([[condition(true)], [condition(true)], [condition(true, 9)], []])
    expect(summary(missing.transitions).at(-1)).toEqual(['resolved', 3, 3, true])
    expect(missing.alerts.get(WEB)).toMatchObject({ state: 'resolved', resolvedAt: T + 3 * MIN, value: 9 })
  })

  it('starts a new pending cycle for a resolved alert that becomes active again; seq keeps growing', () => {
    const { alerts, transitions } = run([
      [condition(true)],
      [condition(true)],
      [condition(true)], // firing
      [condition(false)], // resolved
      [condition(false)],
      [condition(true)], // pending again
      [condition(true)],
      [condition(true)], // firing again
    ])
    expect(summary(transitions)).toEqual([
      ['pending', 0, 1, false],
      ['firing', 2, 2, true],
      ['resolved', 3, 3, true],
      ['pending', 5, 4, false],
      ['firing', 7, 5, true],
    ])
    expect(transitions[3]?.from).toBe('resolved')
    expect(alerts.get(WEB)).toMatchObject({
      activeSince: T + 5 * MIN,
      firedAt: T + 7 * MIN,
      resolvedAt: null,
      seq: 5,
    })
  })

  it('never repeats a seq: a fingerprint that fired before keeps a record when a later pending cycle is dropped', () => {
    const { alerts, transitions } = run([
      [condition(true)],
      [condition(true)],
      [condition(true)], // firing, seq 2
      [condition(false)], // resolved, seq 3
      [condition(true)], // pending, seq 4
      [condition(false)], // dropped, seq 5
      [condition(true)], // pending, seq 6
    ])
    expect(summary(transitions).map(([to, , seq]) => [to, seq])).toEqual([
      ['pending', 1],
      ['firing', 2],
      ['resolved', 3],
      ['pending', 4],
      ['inactive', 5],
      ['pending', 6],
    ])
    expect(alerts.get(WEB)).toMatchObject({ state: 'pending', seq: 6 })
  })

  it('keeps one record per fingerprint and refreshes value and annotations without a transition', () => {
    const first = run([[condition(true, 8), condition(true, 8)]])
    expect(first.alerts.size).toBe(1)
    expect(first.transitions).toHaveLength(1)
    const { alerts, transitions } = run(
      [[condition(true, 8)], [condition(true, 8.5)], [condition(true, 11)], [condition(true, 12)]],
      new Map(),
    )
    expect(transitions.map((t) => t.to)).toEqual(['pending', 'firing'])
    expect(alerts.get(WEB)).toMatchObject({
      state: 'firing',
      value: 12,
      annotations: { summary: 'burns 12×' },
      updatedAt: T + 3 * MIN,
      seq: 2,
    })
  })

  it('tracks fingerprints independently and returns them sorted, whatever the order of the conditions', () => {
    const steps = [
      [condition(true, 8, phoneLabels), condition(true)],
      [condition(false, 1, phoneLabels), condition(true)],
    ]
    const { alerts, transitions } = run(steps)
    expect([...alerts.keys()]).toEqual([WEB])
    const [firstKey, secondKey] = [WEB, PHONE].sort()
    expect(transitions.map((t) => [t.fingerprint, t.to])).toEqual([
      [firstKey, 'pending'],
      [secondKey, 'pending'],
      [PHONE, 'inactive'],
    ])
    const reversed = run(steps.map((conditions) => [...conditions].reverse()))
    expect(reversed).toEqual({ alerts, transitions })
  })

  it('is idempotent: the same step applied again changes nothing, and the same inputs give the same output', () => {
    const steps = [
      [condition(true)],
      [condition(true)],
      [condition(true)],
      [condition(false)],
      [condition(true)],
    ]
    let alerts: ReadonlyMap<string, AlertRecord> = new Map()
    for (const [index, conditions] of steps.entries()) {
      const at = T + index * MIN
      const once = advance(alerts, conditions, at, policy)
      const again = advance(once.alerts, conditions, at, policy)
      expect(again.transitions).toEqual([])
      expect(again.alerts).toEqual(once.alerts)
      expect(advance(alerts, conditions, at, policy)).toEqual(once)
      alerts = once.alerts
    }
  })

  it('leaves a record alone when an older step is replayed, and never mutates its input', () => {
    const { alerts } = run([[condition(true)], [condition(true)], [condition(true)], [condition(false)]])
    const frozen = structuredClone([...alerts])
    const replay = advance(alerts, [condition(true)], T + MIN, policy)
    expect(replay.transitions).toEqual([])
    expect(replay.alerts.get(WEB)).toEqual(alerts.get(WEB))
    advance(alerts, [condition(true)], T + 10 * MIN, policy)
    expect([...alerts]).toEqual(frozen)
  })
})
