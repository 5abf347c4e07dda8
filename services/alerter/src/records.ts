import { type AlertRecord, groupTransitions, type NotificationGroup, type Transition } from '@cpi/alerting'
import type { StoredAlert } from '@cpi/clickhouse'
import type { Receiver } from './delivery.ts'

// Between the pure lifecycle's records and the `alerts` table's rows, and from rows to the
// notification groups each receiver is owed. No I/O here.

export function toStored(transition: Transition, silencedBy: string[], receivers: string[]): StoredAlert {
  const alert = transition.alert
  return {
    fingerprint: transition.fingerprint,
    seq: transition.seq,
    state: transition.to,
    previousState: transition.from,
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    activeSince: alert.activeSince,
    firedAt: alert.firedAt,
    resolvedAt: alert.resolvedAt,
    value: alert.value,
    threshold: alert.threshold,
    evaluatedAt: transition.at,
    notify: transition.notify,
    silencedBy,
    // Only a notification is addressed to anyone.
    receivers: transition.notify ? receivers : [],
  }
}

export function toRecord(stored: StoredAlert): AlertRecord {
  return {
    fingerprint: stored.fingerprint,
    labels: stored.labels as AlertRecord['labels'],
    annotations: stored.annotations as AlertRecord['annotations'],
    // A pending cycle that ended without firing is kept as resolved, so its seq never repeats.
    state: stored.state === 'inactive' ? 'resolved' : stored.state,
    activeSince: stored.activeSince,
    firedAt: stored.firedAt,
    resolvedAt: stored.resolvedAt,
    value: stored.value,
    threshold: stored.threshold,
    updatedAt: stored.evaluatedAt,
    seq: stored.seq,
  }
}

export function toTransition(stored: StoredAlert): Transition {
  return {
    fingerprint: stored.fingerprint,
    from: stored.previousState,
    to: stored.state,
    at: stored.evaluatedAt,
    seq: stored.seq,
    alert: toRecord(stored),
    notify: stored.notify,
  }
}

/** A recorded firing whose notification went to nobody: to be told once its silences end. */
export const firedSilenced = (stored: StoredAlert) =>
  stored.state === 'firing' && stored.notify && stored.silencedBy.length > 0

/** Groups by evaluation step first, so the same transitions always make the same groups and keys. */
export function groupByStep(transitions: readonly Transition[]): NotificationGroup[] {
  const steps = new Map<number, Transition[]>()
  for (const transition of transitions)
    steps.set(transition.at, [...(steps.get(transition.at) ?? []), transition])
  return [...steps.keys()].sort((a, b) => a - b).flatMap((at) => groupTransitions(steps.get(at) ?? []))
}

/**
 * The notification groups of recorded rows, each with the configured receivers it is addressed
 * to: those named on its rows (a receiver added since is not sent the history; a removed one is
 * not sent anything). Rows recorded before receivers were (0007) name none: they go to the
 * receivers that already had deliveries then, recorded under their old URL-keyed names (so one
 * added after the upgrade is not sent them either).
 */
export function owedGroups(
  rows: readonly StoredAlert[],
  receivers: readonly Receiver[],
  settled: ReadonlySet<string> = new Set(),
): { group: NotificationGroup; receivers: Receiver[] }[] {
  const owed = rows.filter((row) => row.notify && row.silencedBy.length === 0)
  const addressed = new Map(owed.map((row) => [`${row.fingerprint}:${row.seq}`, row.receivers]))
  const recordedUnder = new Set([...settled].map((entry) => entry.slice(0, entry.indexOf('\n'))))
  const before0007 = receivers.filter((receiver) =>
    receiver.aliases?.some((alias) => recordedUnder.has(alias)),
  )
  return groupByStep(owed.map(toTransition)).map((group) => {
    const names = group.transitions.map((t) => addressed.get(`${t.fingerprint}:${t.seq}`) ?? [])
    const to = receivers.filter(
      (receiver) =>
        names.some((list) => list.includes(receiver.name)) ||
        (names.some((list) => list.length === 0) && before0007.includes(receiver)),
    )
    return { group, receivers: to }
  })
}
