import type { RawEventRow, StoredEvent } from '@cpi/clickhouse'
import type { DeadLetter } from '@cpi/schemas'
import { type Arrival, classifyArrivals } from './event-identity.ts'

/** A message that passed validation, waiting to learn whether it is a new event. */
export interface Candidate {
  row: RawEventRow
  raw: Buffer
  key: Buffer | null
  /** The clock it was judged against (ms), for the dead letter's time. */
  judgedAt: number
}

export interface SortedArrivals {
  /** New events (and replayed copies of stored ones), in arrival order: to be written. */
  accepted: Candidate[]
  duplicates: number
  conflicts: { candidate: Candidate; letter: DeadLetter }[]
}

const position = (row: RawEventRow) => ({ partition: row.kafka_partition, offset: BigInt(row.kafka_offset) })

/**
 * Sorts arriving copies by their identity against what is stored (pure): a new event or a
 * replayed copy is written; a duplicate with the same content is dropped (it changes nothing);
 * one with other content is a conflict, dead-lettered with where the first copy is.
 */
export function sortArrivals(
  candidates: readonly Candidate[],
  stored: ReadonlyMap<string, readonly StoredEvent[]>,
): SortedArrivals {
  const copies = [...new Set(candidates.map((candidate) => candidate.row.subject))].flatMap(
    (subject) => stored.get(subject) ?? [],
  )
  const arrivals = classifyArrivals(
    copies,
    candidates.map(({ row }) => ({
      subject: row.subject,
      source: row.source,
      id: row.id,
      payload: row.payload,
      ...position(row),
    })),
  )
  const sorted: SortedArrivals = { accepted: [], duplicates: 0, conflicts: [] }
  arrivals.forEach((arrival: Arrival, index) => {
    const candidate = candidates[index] as Candidate
    if (arrival.kind === 'new' || arrival.kind === 'replay') sorted.accepted.push(candidate)
    else if (arrival.kind === 'duplicate') sorted.duplicates++
    else {
      const { row } = candidate
      sorted.conflicts.push({
        candidate,
        letter: processorLetter(candidate, 'conflicting_duplicate', [
          {
            path: 'id',
            message: `expected the content of the first copy of the event with source ${JSON.stringify(row.source)} and id ${JSON.stringify(row.id)} (partition ${arrival.first.partition}, offset ${arrival.first.offset}), got other content`,
          },
        ]),
      })
    }
  })
  return sorted
}

/** A dead letter for a valid event the processor could not keep as an event. */
export function processorLetter(
  candidate: Candidate,
  reason: DeadLetter['reason'],
  errors: DeadLetter['errors'],
): DeadLetter {
  const { row } = candidate
  return {
    reason,
    errors,
    origin: 'processor',
    rejectedAt: new Date(candidate.judgedAt).toISOString(),
    source: { topic: row.kafka_topic, partition: row.kafka_partition, offset: String(row.kafka_offset) },
    eventId: row.id,
    eventType: row.type,
    subject: row.subject,
  }
}

/** A written row as the stored copy the outcome stage reads, so it need not read it back. */
export function asStoredCopy(row: RawEventRow): StoredEvent {
  return {
    id: row.id,
    source: row.source,
    subject: row.subject,
    type: row.type,
    time: Date.parse(row.time),
    payload: row.payload,
    tooLate: row.too_late === 1,
    ...position(row),
  }
}
