import type { RawEventRow, StoredEvent } from '@cpi/clickhouse'
import type { DeadLetter } from '@cpi/schemas'
import { type Arrival, classifyArrivals } from './event-identity.ts'
import { type MessageResult, okValues } from './message-outcome.ts'
import { decodeCopy } from './outcome-stage.ts'
import type { LetterMessage } from './validate-stage.ts'

/** A message that passed validation, waiting to learn whether it is a new event. */
export interface Candidate {
  row: RawEventRow
  raw: Buffer
  key: Buffer | null
  /** The clock it was judged against (ms), for the dead letter's time. */
  judgedAt: number
  /** The value `row.payload` parses to, kept from validation (absent when the payload was rewritten). */
  parsed?: unknown
}

const position = (row: RawEventRow) => ({ partition: row.kafka_partition, offset: BigInt(row.kafka_offset) })

/**
 * The arrival stage: sorts arriving copies by their identity against what is stored (pure). A
 * new event or a replayed copy stays `ok` (to be written); a duplicate with the same content is
 * dropped (it changes nothing); one with other content is a conflict, dead-lettered with where
 * the first copy is. Results of earlier stages pass through.
 */
export function sortArrivals(
  results: readonly MessageResult<Candidate>[],
  stored: ReadonlyMap<string, readonly StoredEvent[]>,
  letter: LetterMessage,
): MessageResult<Candidate>[] {
  const candidates = okValues(results)
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
  let next = 0
  return results.map((result) => {
    if (result.kind !== 'ok') return result
    return arrivalResult(result.value, arrivals[next++] as Arrival, letter)
  })
}

/** One arriving copy's result from its classification. */
function arrivalResult(
  candidate: Candidate,
  arrival: Arrival,
  letter: LetterMessage,
): MessageResult<Candidate> {
  if (arrival.kind === 'new' || arrival.kind === 'replay') return { kind: 'ok', value: candidate }
  if (arrival.kind === 'duplicate') return { kind: 'drop', reason: 'duplicate' }
  const { row } = candidate
  const deadLetter = processorLetter(candidate, 'conflicting_duplicate', [
    {
      path: 'id',
      message: `expected the content of the first copy of the event with source ${JSON.stringify(row.source)} and id ${JSON.stringify(row.id)} (partition ${arrival.first.partition}, offset ${arrival.first.offset}), got other content`,
    },
  ])
  return {
    kind: 'dead_letter',
    reason: 'conflicting_duplicate',
    message: letter(candidate.key, candidate.raw, deadLetter),
  }
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

/**
 * A written row as the stored copy the outcome stage reads, so it need not read it back; with
 * what its payload parsed to in validation, decoded already, so it need not parse it again.
 */
export function asStoredCopy(row: RawEventRow, parsed?: unknown): StoredEvent {
  const copy: StoredEvent = {
    id: row.id,
    source: row.source,
    subject: row.subject,
    type: row.type,
    time: Date.parse(row.time),
    payload: row.payload,
    tooLate: row.too_late === 1,
    ...position(row),
  }
  if (parsed !== undefined) decodeCopy(copy, parsed)
  return copy
}
