import {
  type AlertRecord,
  fingerprint,
  type PartitionProgress,
  type Silence,
  type Transition,
} from '@cpi/alerting'
import type { StoredAlert } from '@cpi/clickhouse'
import { describe, expect, it } from 'vitest'
import { type RecordInput, recordRound } from './record-stage.ts'
import { type Plan, type State, startPlan } from './round-state.ts'
import { burnRateLabels, MIN, T } from './test-fixtures.ts'

// The record stage without ClickHouse: the writes are functions the test gives. The round's
// rows are recorded, then the checkpoint, and only then does the plan become the state: a failed
// write leaves the state as it was.

/** A transition of `cpi`'s page alert to `to` at `at`. */
function transition(cpi: string, to: 'pending' | 'firing', at: number, notify = to === 'firing'): Transition {
  const alert: AlertRecord = {
    fingerprint: fingerprint(burnRateLabels(cpi)),
    labels: burnRateLabels(cpi),
    annotations: {
      summary: `${cpi} burns`,
      description: '',
      runbook: '',
      dashboard: '',
      cpiDisplayName: cpi,
    },
    state: to,
    activeSince: at,
    firedAt: to === 'firing' ? at : null,
    resolvedAt: null,
    value: 8,
    threshold: 6,
    updatedAt: at,
    seq: to === 'firing' ? 2 : 1,
  }
  return { fingerprint: alert.fingerprint, from: 'pending', to, at, seq: alert.seq, alert, notify }
}

const maintenance: Silence = {
  id: 'maintenance',
  matchers: [{ name: 'cpi', value: 'silenced' }],
  startsAt: T - 60 * MIN,
  endsAt: T + 60 * MIN,
  createdBy: 'oncall',
  comment: '',
}

/** The stage's writes, failing as told; `log` records what reached the store, in order. */
function fakeInput(fail: { insert?: boolean; checkpoint?: boolean } = {}) {
  const log: string[] = []
  const rows: StoredAlert[] = []
  const input: RecordInput = {
    receivers: ['webhook-1', 'kafka'],
    insertAlerts: async (stored) => {
      if (fail.insert) throw new Error('insert refused')
      rows.push(...stored)
      log.push(`alerts: ${stored.map((row) => `${row.labels.cpi} ${row.state}`).join(', ')}`)
    },
    writeCheckpoint: async (through) => {
      if (fail.checkpoint) throw new Error('checkpoint refused')
      log.push(`checkpoint: ${(through - T) / MIN}`)
    },
  }
  return { input, log, rows }
}

const progress: PartitionProgress = { topic: 'cpi.events', partition: 0, watermark: T, since: T }

/** A state that has told nobody of `told`'s firing yet, and a round's plan from it. */
function stateAndPlan(): { state: State; plan: Plan } {
  const told = transition('told', 'firing', T)
  const state: State = {
    alerts: new Map([[told.fingerprint, told.alert]]),
    through: T - MIN,
    progress: new Map(),
    unnotified: new Set([told.fingerprint]),
    watermark: T - 30_000,
  }
  const plan = startPlan(state, T + 2 * MIN + 10_000)
  const round = [
    transition('silenced', 'firing', T + MIN),
    transition('quiet', 'pending', T + MIN),
    transition('loud', 'firing', T + 2 * MIN),
    { ...told, at: T, seq: 3, alert: { ...told.alert, seq: 3 } },
  ]
  for (const t of round) plan.alerts.set(t.fingerprint, t.alert)
  plan.transitions.push(...round)
  plan.progress = new Map([['cpi.events/0', progress]])
  plan.lastStep = T + 2 * MIN
  return { state, plan }
}

describe('recordRound', () => {
  it('records the rows, then the checkpoint, then makes the plan the state', async () => {
    const { input, log, rows } = fakeInput()
    const { state, plan } = stateAndPlan()
    const stored = await recordRound(input, state, plan, [maintenance], T + 3 * MIN)
    expect(stored).toEqual(rows)
    expect(log).toEqual(['alerts: silenced firing, quiet pending, loud firing, told firing', 'checkpoint: 2'])
    // A notification under a silence names it; only notifications are addressed to the receivers.
    expect(rows.map((row) => [row.labels.cpi, row.silencedBy, row.receivers])).toEqual([
      ['silenced', ['maintenance'], ['webhook-1', 'kafka']],
      ['quiet', [], []],
      ['loud', [], ['webhook-1', 'kafka']],
      ['told', [], ['webhook-1', 'kafka']],
    ])
    expect(state.alerts).toBe(plan.alerts)
    expect(state.progress.get('cpi.events/0')).toEqual(progress)
    expect(state.through).toBe(T + 2 * MIN)
    expect(state.watermark).toBe(T + 2 * MIN + 10_000)
    // The silenced firing waits for its silence to end; the one told now no longer does.
    expect(state.unnotified).toEqual(new Set([fingerprint(burnRateLabels('silenced'))]))
  })

  it('writes no checkpoint for a round that walked no step, and keeps through', async () => {
    const { input, log } = fakeInput()
    const { state, plan } = stateAndPlan()
    plan.lastStep = undefined
    plan.through = T - MIN
    await recordRound(input, state, plan, [], T)
    expect(log).toEqual(['alerts: silenced firing, quiet pending, loud firing, told firing'])
    expect(state.through).toBe(T - MIN)
  })

  it('leaves the state as it was when the rows are refused, and writes no checkpoint', async () => {
    const { input, log } = fakeInput({ insert: true })
    const { state, plan } = stateAndPlan()
    const before = structuredClone(state)
    await expect(recordRound(input, state, plan, [maintenance], T)).rejects.toThrow('insert refused')
    expect(log).toEqual([])
    expect(state).toEqual(before)
  })

  it('leaves the state as it was when the checkpoint is refused: the next round records the same rows', async () => {
    const { input, log } = fakeInput({ checkpoint: true })
    const { state, plan } = stateAndPlan()
    const before = structuredClone(state)
    await expect(recordRound(input, state, plan, [], T)).rejects.toThrow('checkpoint refused')
    expect(log).toHaveLength(1)
    expect(state).toEqual(before)
  })
})
