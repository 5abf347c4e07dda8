import { type AlertRecord, fingerprint, type Silence, type Transition } from '@cpi/alerting'
import { describe, expect, it } from 'vitest'
import { recordRound } from './record-stage.ts'
import { type State, startPlan } from './round-state.ts'
import { type SilenceInput, tellEndedSilences } from './silence-stage.ts'
import { burnRateLabels, MIN, T } from './test-fixtures.ts'

// The silence stage without ClickHouse: the silences in force come from a function the test
// gives. A firing alert whose firing was silenced is told once its silences have ended — once,
// as the recorded round takes it off the alerts told to nobody.

/** An alert of `cpi` in `state`, last evaluated at T. */
const alert = (cpi: string, state: AlertRecord['state'] = 'firing'): AlertRecord => ({
  fingerprint: fingerprint(burnRateLabels(cpi)),
  labels: burnRateLabels(cpi),
  annotations: { summary: `${cpi} burns`, description: '', runbook: '', dashboard: '', cpiDisplayName: cpi },
  state,
  activeSince: T - 5 * MIN,
  firedAt: state === 'pending' ? null : T - 3 * MIN,
  resolvedAt: state === 'resolved' ? T : null,
  value: 8,
  threshold: 6,
  updatedAt: T,
  seq: 2,
})

/** A silence of `cpi` from an hour before T until `endsAt`. */
const silence = (id: string, cpi: string, endsAt: number): Silence => ({
  id,
  matchers: [{ name: 'cpi', value: cpi }],
  startsAt: T - 60 * MIN,
  endsAt,
  createdBy: 'oncall',
  comment: 'maintenance',
})

/** Silences as the store lists them: those not yet ended at `at`; `asked` records each `at`. */
function fakeInput(silences: readonly Silence[]) {
  const asked: number[] = []
  const input: SilenceInput = {
    silences: async (at) => {
      asked.push(at)
      return silences.filter((s) => s.endsAt > at)
    },
  }
  return { input, asked }
}

const stateWith = (alerts: AlertRecord[], unnotified: string[]): State => ({
  alerts: new Map(alerts.map((a) => [a.fingerprint, a])),
  through: T,
  progress: new Map(),
  unnotified: new Set(unnotified),
  watermark: T,
})

const writes = { receivers: ['webhook-1'], insertAlerts: async () => {}, writeCheckpoint: async () => {} }

/** A round of the silence stage, recorded; `[cpi, from → to, seq, notify]` of its transitions. */
async function round(input: SilenceInput, state: State, at: number) {
  const plan = startPlan(state, state.watermark)
  const silences = await tellEndedSilences(input, plan, state.unnotified, at)
  await recordRound(writes, state, plan, silences, at)
  return plan.transitions.map((t) => [t.alert.labels.cpi, `${t.from} → ${t.to}`, t.seq, t.notify])
}

describe('tellEndedSilences', () => {
  it('tells a firing alert once its silence has ended, and only once', async () => {
    const firing = alert('one_day')
    const state = stateWith([firing], [firing.fingerprint])
    const { input, asked } = fakeInput([silence('s1', 'one_day', T + 30 * MIN)])
    expect(await round(input, state, T + 10 * MIN)).toEqual([])
    expect(state.unnotified).toEqual(new Set([firing.fingerprint]))
    expect(await round(input, state, T + 31 * MIN)).toEqual([['one_day', 'firing → firing', 3, true]])
    expect(state.alerts.get(firing.fingerprint)?.seq).toBe(3)
    expect(state.unnotified.size).toBe(0)
    expect(await round(input, state, T + 32 * MIN)).toEqual([])
    expect(asked).toEqual([T + 10 * MIN, T + 31 * MIN, T + 32 * MIN])
  })

  it('tells the firing at its own time, and returns the silences in force for the record stage', async () => {
    const firing = alert('one_day')
    const { input } = fakeInput([silence('s2', 'other', T + 90 * MIN)])
    const plan = startPlan(stateWith([firing], [firing.fingerprint]), T)
    const silences = await tellEndedSilences(input, plan, new Set([firing.fingerprint]), T + 31 * MIN)
    expect(silences.map((s) => s.id)).toEqual(['s2'])
    expect(plan.transitions.map((t) => t.at)).toEqual([T])
  })

  it('tells nobody of an alert still silenced, no longer firing, or changed in this round', async () => {
    const silenced = alert('silenced')
    const resolved = alert('resolved', 'resolved')
    const changed = alert('changed')
    const state = stateWith(
      [silenced, resolved, changed],
      [silenced, resolved, changed].map((a) => a.fingerprint),
    )
    state.unnotified.add('unknown')
    const { input } = fakeInput([silence('s3', 'silenced', T + 90 * MIN)])
    const plan = startPlan(state, T)
    const resolving: Transition = {
      fingerprint: changed.fingerprint,
      from: 'firing',
      to: 'resolved',
      at: T,
      seq: 3,
      alert: { ...changed, state: 'resolved', seq: 3 },
      notify: true,
    }
    plan.transitions.push(resolving)
    await tellEndedSilences(input, plan, state.unnotified, T + 31 * MIN)
    expect(plan.transitions).toEqual([resolving])
  })
})
