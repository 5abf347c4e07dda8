import type { AlertLabels, Transition } from '@cpi/alerting'
import { fingerprint } from '@cpi/alerting'
import type { StoredAlert } from '@cpi/clickhouse'
import { describe, expect, it } from 'vitest'
import type { Receiver } from './delivery.ts'
import { firedSilenced, owedGroups, toStored } from './records.ts'

const T = Date.parse('2026-11-22T10:00:00Z')
const labels: AlertLabels = {
  alertname: 'CpiBurnRate',
  cpi: 'fast_quote',
  dimension: 'channel',
  segment: 'web',
  severity: 'page',
  rule: 'burn_rate',
}

function row(seq: number, overrides: Partial<StoredAlert> = {}): StoredAlert {
  return {
    fingerprint: fingerprint(labels),
    seq,
    state: 'firing',
    previousState: 'pending',
    labels: { ...labels },
    annotations: {
      summary: 'burns',
      description: '',
      runbook: '',
      dashboard: '',
      cpiDisplayName: 'Fast quote',
    },
    activeSince: T - 120_000,
    firedAt: T,
    resolvedAt: null,
    value: 8,
    threshold: 6,
    evaluatedAt: T + seq * 60_000,
    notify: true,
    silencedBy: [],
    receivers: ['webhook-1', 'kafka'],
    ...overrides,
  }
}

const receiver = (name: string): Receiver => ({ name, send: async () => undefined })
const names = (owed: ReturnType<typeof owedGroups>) =>
  owed.map(
    ({ group, receivers }) => `${group.transitions[0]?.seq}: ${receivers.map((r) => r.name).join(',')}`,
  )

describe('owedGroups', () => {
  it('addresses each recorded notification to the receivers named on it: one added later gets no history, one removed gets nothing', () => {
    const configured = [receiver('webhook-1'), receiver('oncall'), receiver('kafka')]
    expect(names(owedGroups([row(2), row(4, { receivers: ['oncall', 'retired'] })], configured))).toEqual([
      '2: webhook-1,kafka',
      '4: oncall',
    ])
  })

  it('addresses rows recorded before receivers were (no names) to the receivers that had deliveries then, under their URL-keyed names', () => {
    const old = (name: string, alias: string): Receiver => ({ ...receiver(name), aliases: [alias] })
    const configured = [
      old('webhook-1', 'webhook:https://a.example.com'),
      old('webhook-2', 'webhook:https://added-later.example.com'),
      old('kafka', 'kafka:cpi.alerts'),
    ]
    const settled = new Set(['webhook:https://a.example.com\nk1', 'kafka:cpi.alerts\nk1', 'webhook-2\nk9'])
    expect(names(owedGroups([row(2, { receivers: [] })], configured, settled))).toEqual([
      '2: webhook-1,kafka',
    ])
  })

  it('owes nothing for transitions that do not notify or were silenced', () => {
    const configured = [receiver('webhook-1')]
    const rows = [row(1, { state: 'pending', notify: false }), row(2, { silencedBy: ['maintenance'] })]
    expect(owedGroups(rows, configured)).toEqual([])
  })
})

describe('toStored', () => {
  it('names the receivers only on notifying transitions; a silenced firing is remembered as told to nobody', () => {
    const transition = (notify: boolean): Transition => ({
      fingerprint: fingerprint(labels),
      from: 'pending',
      to: notify ? 'firing' : 'pending',
      at: T,
      seq: 2,
      notify,
      alert: {
        fingerprint: fingerprint(labels),
        labels,
        annotations: row(2).annotations as Transition['alert']['annotations'],
        state: 'firing',
        activeSince: T,
        firedAt: T,
        resolvedAt: null,
        value: 8,
        threshold: 6,
        updatedAt: T,
        seq: 2,
      },
    })
    expect(toStored(transition(true), [], ['webhook-1', 'kafka']).receivers).toEqual(['webhook-1', 'kafka'])
    expect(toStored(transition(false), [], ['webhook-1']).receivers).toEqual([])
    expect(firedSilenced(toStored(transition(true), ['maintenance'], ['webhook-1']))).toBe(true)
    expect(firedSilenced(toStored(transition(true), [], ['webhook-1']))).toBe(false)
  })
})
