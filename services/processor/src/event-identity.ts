import type { StoredEvent } from '@cpi/clickhouse'

// An event's identity is (source, id), as CloudEvents defines it, within its interaction
// (subject): an interaction's events share a partition, so its copies are all read by the
// processor that owns it, and a decision never depends on which other interactions share a
// batch. The first copy accepted — the earliest Kafka position — is the event; a later copy with
// the same content is a plain duplicate (dropped), one with other content is a conflict
// (dead-lettered, counted). A late duplicate therefore never replaces the on-time copy, and the
// same rule decides on a replay, whatever the batch boundaries.

/** Where a copy sits in Kafka: its order of acceptance. */
export interface Position {
  partition: number
  offset: bigint
}

export const identityKey = (event: { subject: string; source: string; id: string }): string =>
  `${event.subject}\u0000${event.source}\u0000${event.id}`

const earlier = (a: Position, b: Position): boolean =>
  a.offset < b.offset || (a.offset === b.offset && a.partition < b.partition)

const samePosition = (a: Position, b: Position): boolean =>
  a.offset === b.offset && a.partition === b.partition

/**
 * The first accepted copy of each identity among stored copies (several may exist from older
 * data). Positions compare by offset, then partition: an interaction's copies share a partition
 * unless producers keyed them differently, and then the order is arbitrary but fixed.
 */
export function firstCopies(copies: readonly StoredEvent[]): StoredEvent[] {
  const first = new Map<string, StoredEvent>()
  for (const copy of copies) {
    const key = identityKey(copy)
    const known = first.get(key)
    if (!known || earlier(copy, known)) first.set(key, copy)
  }
  return [...first.values()]
}

/** JSON text with object keys sorted: two serializations of one event compare equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    )
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

const sameContent = (a: string, b: string): boolean => {
  if (a === b) return true
  try {
    return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b))
  } catch {
    return false
  }
}

/** What becomes of one arriving copy. */
export type Arrival =
  | { kind: 'new' }
  /** The very copy already stored (a batch replayed after a crash): written again, harmless. */
  | { kind: 'replay' }
  | { kind: 'duplicate'; first: Position }
  | { kind: 'conflict'; first: Position }

export interface ArrivingCopy extends Position {
  subject: string
  source: string
  id: string
  payload: string
}

/**
 * Decides each arriving copy, in order, against the stored first copies and the copies that
 * arrived before it in the same batch. Pure.
 */
export function classifyArrivals(
  stored: readonly StoredEvent[],
  arriving: readonly ArrivingCopy[],
): Arrival[] {
  const first = new Map<string, ArrivingCopy | StoredEvent>()
  for (const copy of firstCopies(stored)) first.set(identityKey(copy), copy)
  return arriving.map((copy) => {
    const key = identityKey(copy)
    const known = first.get(key)
    if (!known) {
      first.set(key, copy)
      return { kind: 'new' }
    }
    if (samePosition(known, copy)) return { kind: 'replay' }
    const position = { partition: known.partition, offset: known.offset }
    return sameContent(known.payload, copy.payload)
      ? { kind: 'duplicate', first: position }
      : { kind: 'conflict', first: position }
  })
}
