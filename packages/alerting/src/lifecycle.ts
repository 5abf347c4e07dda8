import type { AlertAnnotations, AlertLabels, AlertPolicy, Condition } from './conditions.ts'
import { fingerprint } from './labels.ts'

export type AlertState = 'pending' | 'firing' | 'resolved'

export interface AlertRecord {
  fingerprint: string
  labels: AlertLabels
  annotations: AlertAnnotations
  state: AlertState
  /** When the current cycle's condition became active. */
  activeSince: number
  firedAt: number | null
  resolvedAt: number | null
  value: number
  threshold: number
  /** The last evaluation that touched this record. */
  updatedAt: number
  /** Grows by one on every transition of this fingerprint, from 1. */
  seq: number
}

export interface Transition {
  fingerprint: string
  from: AlertState | 'inactive'
  to: AlertState | 'inactive'
  at: number
  seq: number
  /** The record after the transition (for `to: 'inactive'`: the ended cycle, resolvedAt = at). */
  alert: AlertRecord
  /** Only → firing and firing → resolved (and firing again once a silence ended) are worth telling anyone. */
  notify: boolean
}

/**
 * One evaluation step of every alert: the conditions at `at` against the previous records.
 * Deterministic and idempotent: the same inputs give the same output, and feeding the output
 * back with the same conditions and `at` changes nothing, so catch-up can replay minute steps.
 * A record updated after `at` (an older step replayed) is left as it is.
 */
export function advance(
  previous: ReadonlyMap<string, AlertRecord>,
  conditions: readonly Condition[],
  at: number,
  policy: Pick<AlertPolicy, 'pendingForMs'>,
): { alerts: Map<string, AlertRecord>; transitions: Transition[] } {
  // One condition per fingerprint; if two share one, an active one wins.
  const byFingerprint = new Map<string, Condition>()
  for (const condition of conditions) {
    const key = fingerprint(condition.labels)
    const seen = byFingerprint.get(key)
    if (seen === undefined || (!seen.active && condition.active)) byFingerprint.set(key, condition)
  }

  const alerts = new Map<string, AlertRecord>()
  const transitions: Transition[] = []
  const keys = [...new Set([...previous.keys(), ...byFingerprint.keys()])].sort()
  for (const key of keys) {
    const record = previous.get(key)
    const condition = byFingerprint.get(key)
    const result =
      record !== undefined && record.updatedAt > at
        ? { record, transition: undefined }
        : step(key, record, condition, at, policy.pendingForMs)
    if (result.record !== undefined) alerts.set(key, result.record)
    if (result.transition !== undefined) transitions.push(result.transition)
  }
  return { alerts, transitions }
}

function step(
  key: string,
  record: AlertRecord | undefined,
  condition: Condition | undefined,
  at: number,
  pendingForMs: number,
): { record: AlertRecord | undefined; transition: Transition | undefined } {
  const active = condition?.active === true
  const refreshed = (base: AlertRecord): AlertRecord =>
    condition === undefined
      ? { ...base, updatedAt: at }
      : {
          ...base,
          labels: condition.labels,
          annotations: condition.annotations,
          value: condition.value,
          threshold: condition.threshold,
          updatedAt: at,
        }
  const transition = (
    from: Transition['from'],
    to: Transition['to'],
    alert: AlertRecord,
    notify: boolean,
  ): Transition => ({ fingerprint: key, from, to, at, seq: alert.seq, alert, notify })

  // Not alerting now (never was, or resolved): a new cycle starts when the condition is active.
  if (record === undefined || record.state === 'resolved') {
    if (!active || condition === undefined) return { record, transition: undefined }
    const firesNow = pendingForMs <= 0
    const next: AlertRecord = {
      fingerprint: key,
      labels: condition.labels,
      annotations: condition.annotations,
      state: firesNow ? 'firing' : 'pending',
      activeSince: at,
      firedAt: firesNow ? at : null,
      resolvedAt: null,
      value: condition.value,
      threshold: condition.threshold,
      updatedAt: at,
      seq: (record?.seq ?? 0) + 1,
    }
    const from = record === undefined ? 'inactive' : 'resolved'
    return { record: next, transition: transition(from, next.state, next, firesNow) }
  }

  if (record.state === 'pending') {
    if (!active) {
      // The cycle ends without firing. A fingerprint that never fired is forgotten; one that
      // fired before keeps a resolved record (firedAt null) so its seq never repeats.
      const ended: AlertRecord = {
        ...refreshed(record),
        state: 'resolved',
        firedAt: null,
        resolvedAt: at,
        seq: record.seq + 1,
      }
      const kept = record.seq > 1 ? ended : undefined
      return { record: kept, transition: transition('pending', 'inactive', ended, false) }
    }
    if (at - record.activeSince >= pendingForMs) {
      const next: AlertRecord = { ...refreshed(record), state: 'firing', firedAt: at, seq: record.seq + 1 }
      return { record: next, transition: transition('pending', 'firing', next, true) }
    }
    return { record: refreshed(record), transition: undefined }
  }

  // Firing.
  if (active) return { record: refreshed(record), transition: undefined }
  const next: AlertRecord = { ...refreshed(record), state: 'resolved', resolvedAt: at, seq: record.seq + 1 }
  return { record: next, transition: transition('firing', 'resolved', next, true) }
}

/**
 * A firing alert whose firing notification was silenced, once every matching silence has ended
 * (Alertmanager's behaviour): the transition that tells about it now. Firing → firing with the
 * next seq, so it is recorded, keyed and delivered like any other, at the alert's own time.
 */
export function silenceEnded(alert: AlertRecord): Transition {
  const next: AlertRecord = { ...alert, seq: alert.seq + 1 }
  return {
    fingerprint: alert.fingerprint,
    from: 'firing',
    to: 'firing',
    at: alert.updatedAt,
    seq: next.seq,
    alert: next,
    notify: true,
  }
}
