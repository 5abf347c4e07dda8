import { describe, expect, it } from 'vitest'
import { type AlertRecord, advance, silenceEnded } from './lifecycle.ts'
import {
  alertingWatermark,
  type PartitionProgress,
  type PartitionWatermark,
  partitionKey,
  progressFromAlerts,
  stallConditions,
  trackProgress,
} from './stalls.ts'

const S = 1000
const MIN = 60 * S
const T = Date.parse('2026-11-22T10:00:00Z')
const TOPIC = 'cpi.events'
const links = { dashboardUrl: 'https://cpi.example.com/', runbookUrl: 'https://runbooks.example.com/cpi' }
const STALL = 5 * MIN

const seen = (partition: number, watermark: number, updatedAt: number): PartitionWatermark => ({
  topic: TOPIC,
  partition,
  watermark,
  updatedAt,
})

/** Rounds at the given wall times; `observed(now)` is what the processor recorded by then. */
function rounds(times: number[], observed: (now: number) => PartitionWatermark[]) {
  let progress = new Map<string, PartitionProgress>()
  let alerts = new Map<string, AlertRecord>()
  const transitions: string[] = []
  for (const now of times) {
    const recorded = observed(now)
    progress = trackProgress(progress, recorded, now)
    const conditions = stallConditions({
      progress: progress.values(),
      observed: recorded,
      at: now,
      stallAfterMs: STALL,
      links,
    })
    const step = advance(alerts, conditions, now, { pendingForMs: 0 })
    alerts = step.alerts
    for (const t of step.transitions)
      transitions.push(`${(now - T) / MIN} min: partition ${t.alert.labels.partition} ${t.from}→${t.to}`)
  }
  return { progress, alerts, transitions }
}

const everyMinute = (minutes: number) => Array.from({ length: minutes + 1 }, (_, i) => T + i * MIN)

describe('alertingWatermark', () => {
  it("is the lowest watermark of the topic's partitions, other topics left out; undefined before any", () => {
    const partitions = [
      { topic: TOPIC, watermark: T },
      { topic: TOPIC, watermark: T - 7 * MIN },
      { topic: 'other', watermark: T - 60 * MIN },
    ]
    expect(alertingWatermark(partitions, TOPIC)).toBe(T - 7 * MIN)
    expect(alertingWatermark(partitions, 'none')).toBeUndefined()
  })
})

describe('stall detection', () => {
  it('fires for the one partition whose watermark stops while the others advance, once the threshold has passed on the wall clock; resolves when it moves', () => {
    // Partitions 0 and 1 advance with the wall clock; 2 stops at minute 3 and resumes at minute 12.
    const { transitions, alerts } = rounds(everyMinute(14), (now) => [
      seen(0, now - 2 * S, now),
      seen(1, now - 3 * S, now),
      seen(2, now < T + 3 * MIN || now >= T + 12 * MIN ? now - S : T + 3 * MIN - S, now),
    ])
    expect(transitions).toEqual(['8 min: partition 2 inactive→firing', '12 min: partition 2 firing→resolved'])
    const [alert] = [...alerts.values()]
    expect(alert?.labels).toEqual({
      alertname: 'PipelineStalled',
      cpi: '',
      dimension: 'partition',
      segment: '2',
      severity: 'page',
      rule: 'pipeline_stalled',
      topic: TOPIC,
      partition: '2',
    })
    expect(alert?.firedAt).toBe(T + 8 * MIN)
  })

  it('a processor that stopped recording stopped its partitions when it last wrote them: an alerter starting later fires at once', () => {
    const died = T - 20 * MIN
    const { transitions, alerts } = rounds([T], () => [seen(0, died - S, died), seen(1, died - 2 * S, died)])
    expect(transitions.sort()).toEqual([
      '0 min: partition 0 inactive→firing',
      '0 min: partition 1 inactive→firing',
    ])
    const alert = [...alerts.values()].find((a) => a.labels.partition === '0')
    expect(alert?.annotations.summary).toBe(
      'Pipeline stalled: partition 0 of cpi.events has not advanced for 20 min (threshold 5 min)',
    )
    expect(alert?.annotations.description).toMatch(
      /has not recorded it since 2026-11-22T09:40:00.000Z: it is down/,
    )
    expect(alert?.annotations.stalledSince).toBe(new Date(died).toISOString())
    expect(alert?.annotations.watermark).toBe(new Date(died - S).toISOString())
    expect(alert?.annotations.runbook).toBe('https://runbooks.example.com/cpi#pipelinestalled')
    expect(alert?.annotations.dashboard).toBe('https://cpi.example.com/')
  })

  it('says "no producer" when the processor keeps recording a partition whose event time does not move', () => {
    const { alerts } = rounds(everyMinute(6), (now) => [seen(0, T - MIN, now)])
    const [alert] = [...alerts.values()]
    expect(alert?.state).toBe('firing')
    expect(alert?.annotations.description).toMatch(/no producer sends to this partition/)
    expect(alert?.value).toBe(6 * MIN)
    expect(alert?.threshold).toBe(STALL)
  })

  it('a partition under the threshold, or advancing slowly, never fires', () => {
    // Moves by one second every minute: slow (a replay's clock), but moving.
    const { transitions } = rounds(everyMinute(30), (now) => [seen(0, T + (now - T) / 60, now)])
    expect(transitions).toEqual([])
    const short = rounds(everyMinute(4), (now) => [seen(0, T, now)])
    expect(short.transitions).toEqual([])
  })

  it('a restarted alerter keeps counting from when the partition stopped (from the active alert), so it neither resolves nor fires again', () => {
    const stopped = T + 2 * MIN
    const first = rounds(everyMinute(8), (now) => [seen(0, Math.min(now, stopped), now)])
    expect(first.transitions).toEqual(['7 min: partition 0 inactive→firing'])
    // Restart: only the recorded alert survives.
    const progress = progressFromAlerts(first.alerts.values())
    expect(progress.get(partitionKey({ topic: TOPIC, partition: 0 }))).toEqual({
      topic: TOPIC,
      partition: 0,
      watermark: stopped,
      since: stopped,
    })
    const later = T + 20 * MIN
    const observed = [seen(0, stopped, later)]
    const next = trackProgress(progress, observed, later)
    const [condition] = stallConditions({
      progress: next.values(),
      observed,
      at: later,
      stallAfterMs: STALL,
      links,
    })
    expect(condition?.active).toBe(true)
    expect(condition?.value).toBe(18 * MIN)
    expect(
      advance(first.alerts, condition ? [condition] : [], later, { pendingForMs: 0 }).transitions,
    ).toEqual([])
  })
})

describe('silenceEnded', () => {
  it('is a notifying firing → firing transition with the next seq, at the alert’s own time', () => {
    const { alerts } = rounds(everyMinute(6), (now) => [seen(0, T - MIN, now)])
    const [alert] = [...alerts.values()]
    if (!alert) throw new Error('no alert')
    const transition = silenceEnded(alert)
    expect(transition).toMatchObject({ from: 'firing', to: 'firing', notify: true, seq: alert.seq + 1 })
    expect(transition.at).toBe(alert.updatedAt)
    expect(transition.alert).toEqual({ ...alert, seq: alert.seq + 1 })
  })
})
