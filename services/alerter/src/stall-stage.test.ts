import type { AlertRecord, PartitionWatermark } from '@cpi/alerting'
import { describe, expect, it } from 'vitest'
import { type State, startPlan } from './round-state.ts'
import { evaluateStalls, type StallInput } from './stall-stage.ts'

// The stall stage on the wall clock: a partition whose watermark stands still fires once it has
// stood for the threshold, and resolves when the watermark moves; progress goes on from round
// to round through the state.

const MIN = 60_000
const T = Date.parse('2026-11-22T10:00:00Z')
const W = Date.parse('2026-11-22T09:55:00Z')
const input: StallInput = {
  stallAfterMs: 5 * MIN,
  links: { dashboardUrl: 'https://cpi.example.com', runbookUrl: 'https://runbooks.example.com/cpi' },
}

const emptyState = (): State => ({
  alerts: new Map(),
  through: undefined,
  progress: new Map(),
  unnotified: new Set(),
  watermark: undefined,
})

/** Partition `partition` of the events topic at `watermark`, recorded by the processor at `updatedAt`. */
const recorded = (partition: number, watermark: number, updatedAt: number): PartitionWatermark => ({
  topic: 'cpi.events',
  partition,
  watermark,
  updatedAt,
})

/** One round of the stage at `at`, made the state as the record stage would; `[partition, from → to, notify]` of each transition. */
function round(state: State, observed: readonly PartitionWatermark[], at: number) {
  const plan = startPlan(state, undefined)
  evaluateStalls(input, plan, observed, at)
  state.alerts = plan.alerts
  state.progress = plan.progress
  return plan.transitions.map((t) => [t.alert.labels.partition, `${t.from} → ${t.to}`, t.notify])
}

describe('evaluateStalls', () => {
  it('fires once a watermark has stood still for the threshold, and resolves when it moves', () => {
    const state = emptyState()
    // Partition 0 stands at W while the processor records it every round; partition 1 moves.
    const at = (minutes: number) => T + minutes * MIN
    expect(round(state, [recorded(0, W, at(0)), recorded(1, at(0), at(0))], at(0))).toEqual([])
    expect(round(state, [recorded(0, W, at(4)), recorded(1, at(4), at(4))], at(4))).toEqual([])
    expect(round(state, [recorded(0, W, at(5)), recorded(1, at(5), at(5))], at(5))).toEqual([
      ['0', 'inactive → firing', true],
    ])
    const firing = [...state.alerts.values()][0] as AlertRecord
    expect(firing.labels).toMatchObject({ rule: 'pipeline_stalled', topic: 'cpi.events', partition: '0' })
    expect(firing.annotations).toMatchObject({
      watermark: new Date(W).toISOString(),
      stalledSince: new Date(at(0)).toISOString(),
    })
    expect(firing.value).toBe(5 * MIN)
    // Still standing: nothing new to tell.
    expect(round(state, [recorded(0, W, at(8)), recorded(1, at(8), at(8))], at(8))).toEqual([])
    expect(round(state, [recorded(0, W + MIN, at(9)), recorded(1, at(9), at(9))], at(9))).toEqual([
      ['0', 'firing → resolved', true],
    ])
    expect(state.progress.get('cpi.events/0')).toEqual({
      topic: 'cpi.events',
      partition: 0,
      watermark: W + MIN,
      since: at(9),
    })
  })

  it('counts a partition first seen from when the processor last recorded it: one silent that long fires at once', () => {
    const state = emptyState()
    expect(round(state, [recorded(0, W, T - 10 * MIN)], T)).toEqual([['0', 'inactive → firing', true]])
    expect(state.alerts.size).toBe(1)
    // A partition recorded just now starts counting now.
    const other = emptyState()
    expect(round(other, [recorded(0, W, T)], T)).toEqual([])
    expect(other.progress.get('cpi.events/0')?.since).toBe(T)
  })

  it('leaves the alerts of other rules as they are and changes nothing but the plan', () => {
    const state = emptyState()
    const burn = { fingerprint: 'burn', labels: { rule: 'burn_rate', cpi: 'one_day' } } as AlertRecord
    state.alerts.set('burn', burn)
    const plan = startPlan(state, undefined)
    evaluateStalls(input, plan, [recorded(0, W, T - 10 * MIN)], T)
    expect(plan.alerts.get('burn')).toBe(burn)
    expect(plan.alerts.size).toBe(2)
    expect(state.alerts.size).toBe(1)
    expect(state.progress.size).toBe(0)
  })
})
