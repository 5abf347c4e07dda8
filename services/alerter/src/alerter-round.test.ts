import { type BreachCount, defaultAlertPolicy, type PartitionWatermark, type Silence } from '@cpi/alerting'
import type { StoredAlert } from '@cpi/clickhouse'
import { createLogger } from '@cpi/logger'
import { describe, expect, it } from 'vitest'
import { evaluateRound } from './alerter-round.ts'
import { ruleSets } from './evaluation.ts'
import type { Context, State } from './round-state.ts'
import { MIN, oneDayCpi, T } from './test-fixtures.ts'

// A whole round over fake stores: the stages run in order on the events topic's lowest
// watermark, everything is read before anything is written, and the state changes only once
// the round is recorded.

const policy = { ...defaultAlertPolicy }

const definition = oneDayCpi('one_day')

const emptyState = (): State => ({
  alerts: new Map(),
  through: undefined,
  progress: new Map(),
  unnotified: new Set(),
  watermark: undefined,
})

/** A context over fake stores; the test sets `observed`; `log` records every read and write, in order. */
function fakeContext(fail: { silences?: boolean } = {}) {
  const log: string[] = []
  const stores = { observed: [] as PartitionWatermark[], breaching: [] as BreachCount[] }
  const recorded: StoredAlert[] = []
  const context: Context = {
    eventsTopic: 'cpi.events',
    rules: ruleSets([definition], policy),
    policy,
    links: { dashboardUrl: 'https://cpi.example.com', runbookUrl: 'https://runbooks.example.com/cpi' },
    lookbackMs: 5 * MIN,
    stallAfterMs: 5 * MIN,
    breach: {
      cpis: [{ name: 'one_day', displayName: 'One day', alerting: 'page' }],
      lookBackMs: 14 * 86_400_000,
      policy: { withinMs: 10 * MIN, minInteractions: 3 },
    },
    receivers: ['webhook-1'],
    logger: createLogger({ service: 'test', level: 'silent' }),
    watermarks: async () => {
      log.push('watermarks')
      return stores.observed
    },
    minuteCounts: async () => {
      log.push('minute counts')
      return []
    },
    lastOutcomeTimes: async () => {
      log.push('last outcomes')
      return new Map()
    },
    breachCounts: async () => {
      log.push('breach counts')
      return stores.breaching
    },
    silences: async (): Promise<Silence[]> => {
      log.push('silences')
      if (fail.silences) throw new Error('silences unreadable')
      return []
    },
    insertAlerts: async (rows) => {
      log.push(`alerts: ${rows.length}`)
      recorded.push(...rows)
    },
    writeCheckpoint: async (through) => {
      log.push(`checkpoint: ${(through - T) / MIN}`)
    },
  }
  return { context, log, stores, recorded }
}

const partition = (topic: string, number: number, watermark: number, updatedAt: number) => ({
  topic,
  partition: number,
  watermark,
  updatedAt,
})

describe('evaluateRound', () => {
  it('reads every store, then records the rows and the checkpoint, on the lowest watermark of the events topic', async () => {
    const { context, log, stores } = fakeContext()
    stores.observed = [
      partition('cpi.events', 0, T + 5 * MIN + 10_000, T),
      partition('cpi.events', 1, T + 9 * MIN, T),
      partition('another.topic', 0, T - 86_400_000, T),
    ]
    const state = emptyState()
    expect(await evaluateRound(context, state, T)).toEqual([])
    const counts = log.filter((entry) => entry === 'minute counts').length
    expect(counts).toBeGreaterThan(0)
    expect(log).toEqual([
      'watermarks',
      ...Array<string>(counts).fill('minute counts'),
      'last outcomes',
      'breach counts',
      'silences',
      'alerts: 0',
      'checkpoint: 5',
    ])
    expect(state.watermark).toBe(T + 5 * MIN + 10_000)
    expect(state.through).toBe(T + 5 * MIN)
  })

  it('fires a stall after the threshold and resolves it when the watermark moves, with the CPI rules held at the stalled watermark', async () => {
    const { context, stores, recorded } = fakeContext()
    const state = emptyState()
    const at = (minutes: number) => T + minutes * MIN
    const observe = (minutes: number, stalled: number) => {
      stores.observed = [
        partition('cpi.events', 0, stalled, at(minutes)),
        partition('cpi.events', 1, at(minutes), at(minutes)),
      ]
    }
    const W = at(-2)
    const transitions = async (minutes: number) => {
      const rows = await evaluateRound(context, state, at(minutes))
      return rows.map((row) => [row.labels.rule, row.labels.partition, row.state, row.receivers])
    }
    observe(0, W)
    expect(await transitions(0)).toEqual([])
    observe(4, W)
    expect(await transitions(4)).toEqual([])
    observe(5, W)
    expect(await transitions(5)).toEqual([['pipeline_stalled', '0', 'firing', ['webhook-1']]])
    expect(state.through).toBe(W)
    stores.breaching = [{ cpi: 'one_day', dimension: 'all', value: 'all', count: 4 }]
    observe(6, at(6))
    expect(await transitions(6)).toEqual([
      ['pipeline_stalled', '0', 'resolved', ['webhook-1']],
      ['about_to_breach', undefined, 'firing', ['webhook-1']],
    ])
    expect(state.through).toBe(at(6))
    expect(recorded).toHaveLength(3)
  })

  it('leaves the state as it was, and records nothing, when a read fails', async () => {
    const { context, log, stores } = fakeContext({ silences: true })
    stores.observed = [partition('cpi.events', 0, T - 10 * MIN, T - 10 * MIN)]
    const state = emptyState()
    await expect(evaluateRound(context, state, T)).rejects.toThrow('silences unreadable')
    expect(log.at(-1)).toBe('silences')
    expect(state).toEqual(emptyState())
  })
})
