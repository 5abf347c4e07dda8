import { loadCatalog } from '@cpi/cpi-core'
import { createLogger } from '@cpi/logger'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createLiveState } from './live.ts'

// Pure: the reads are fakes (the real module loads the embedded engine); `store` is what they
// answer and counts how often the slow ones were made.
const store = vi.hoisted(() => ({
  watermarks: [] as unknown[],
  stalled: [] as unknown[],
  alerts: [] as unknown[],
  windows: new Map<string, unknown[]>(),
  beyond: { events: 0, latestAt: null as number | null } as
    | { events: number; latestAt: number | null }
    | Error,
  counts: 0,
}))
vi.mock('@cpi/clickhouse', () => ({
  queryWatermarks: async () => store.watermarks,
  listAlerts: async (_clickhouse: unknown, filter: { alertname?: string }) =>
    filter.alertname ? store.stalled : store.alerts,
  listSilences: async () => [],
  queryCpiWindows: async () => store.windows,
  countEventsBeyondHorizon: async () => {
    store.counts++
    if (store.beyond instanceof Error) throw store.beyond
    return store.beyond
  },
}))

const logger = createLogger({ service: 'test', level: 'silent' })
const T = Date.parse('2026-11-22T10:00:00Z')

beforeEach(() => {
  store.watermarks = [
    { topic: 'events', partition: 0, watermark: T - 4000, maxEventTime: T - 1500, updatedAt: T - 900 },
    { topic: 'events', partition: 1, watermark: T - 2500, maxEventTime: T - 3000, updatedAt: T - 800 },
  ]
  store.stalled = []
  store.alerts = []
  store.windows = new Map()
  store.beyond = { events: 0, latestAt: null }
  store.counts = 0
})

/** A live state on the built-in catalog at a clock the test moves. */
async function liveAt(clock: { now: number }, consumerLag?: () => Promise<number | null>) {
  return createLiveState({
    clickhouse: {} as never,
    catalog: await loadCatalog(),
    logger,
    eventsTopic: 'events',
    now: () => clock.now,
    ...(consumerLag ? { consumerLag } : {}),
  })
}

describe('the freshness', () => {
  it('reports the watermarks, the stalled partitions in order, the lag and the events beyond the horizon', async () => {
    store.stalled = [
      { labels: { topic: 'events', partition: '1' }, annotations: { watermark: 'w1', stalledSince: 's1' } },
      { labels: { topic: 'events', partition: '0' }, annotations: {} },
    ]
    store.beyond = { events: 3, latestAt: T - 60_000 }
    const live = await liveAt({ now: T }, async () => 42)
    expect(await live.freshness()).toEqual({
      now: new Date(T).toISOString(),
      watermark: new Date(T - 2500).toISOString(),
      alertingWatermark: new Date(T - 4000).toISOString(),
      freshnessMs: 1500,
      partitions: [
        {
          topic: 'events',
          partition: 0,
          watermark: new Date(T - 4000).toISOString(),
          maxEventTime: new Date(T - 1500).toISOString(),
          updatedAt: new Date(T - 900).toISOString(),
        },
        {
          topic: 'events',
          partition: 1,
          watermark: new Date(T - 2500).toISOString(),
          maxEventTime: new Date(T - 3000).toISOString(),
          updatedAt: new Date(T - 800).toISOString(),
        },
      ],
      stalled: [
        { topic: 'events', partition: 0, watermark: '', since: '' },
        { topic: 'events', partition: 1, watermark: 'w1', since: 's1' },
      ],
      consumerLag: 42,
      beyondHorizon: { events: 3, latestAt: new Date(T - 60_000).toISOString() },
    })
  })

  it('counts the events beyond the horizon at most every 5 s, and keeps the last count when one fails', async () => {
    const clock = { now: T }
    const live = await liveAt(clock)
    store.beyond = { events: 2, latestAt: T }
    expect((await live.freshness()).beyondHorizon.events).toBe(2)
    store.beyond = { events: 5, latestAt: T }
    clock.now += 4999
    expect((await live.freshness()).beyondHorizon.events).toBe(2)
    expect(store.counts).toBe(1)
    store.beyond = new Error('engine down')
    clock.now += 1
    expect((await live.freshness()).beyondHorizon.events).toBe(2)
    expect(store.counts).toBe(2)
    store.beyond = { events: 5, latestAt: T }
    expect((await live.freshness()).beyondHorizon.events).toBe(5)
  })

  it('has no watermark and no freshness before any partition', async () => {
    store.watermarks = []
    const fresh = await (await liveAt({ now: T })).freshness()
    expect(fresh).toMatchObject({
      watermark: null,
      alertingWatermark: null,
      freshnessMs: null,
      consumerLag: null,
    })
  })
})

describe('the refresh', () => {
  it('hands out the freshness, then only the CPIs and alerts that changed', async () => {
    const live = await liveAt({ now: T })
    const alert = {
      fingerprint: 'f1',
      labels: { cpi: 'fast_quote', severity: 'page' },
      annotations: {},
      state: 'firing',
      activeSince: T - 60_000,
      firedAt: T - 30_000,
      resolvedAt: null,
      value: 3,
      threshold: 2,
    }
    const first = await live.refresh()
    expect(first.map((change) => change.event)).toEqual(['freshness'])
    expect(live.latest()?.cpis).toHaveLength(9)
    expect((await live.refresh()).map((change) => change.event)).toEqual(['freshness'])

    store.alerts = [alert]
    const changes = await live.refresh()
    expect(changes.map((change) => [change.event, 'name' in change.data ? change.data.name : ''])).toEqual([
      ['freshness', ''],
      // A firing page alert breaches the CPI: its summary changed too.
      ['cpi', 'fast_quote'],
      ['alert', ''],
    ])
    expect(changes[2]).toMatchObject({ event: 'alert', data: { fingerprint: 'f1', silenced: false } })
  })

  it('stands at the latest watermark in whole seconds', async () => {
    store.watermarks = [{ topic: 'events', partition: 0, watermark: T - 2500, maxEventTime: T, updatedAt: T }]
    const live = await liveAt({ now: T })
    expect((await live.snapshot()).asOf).toBe(T - 3000)
    expect((await live.windows(60_000, 3)).asOf).toBe(T - 3000)
  })
})
