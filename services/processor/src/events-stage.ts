import type { RawEventRow } from '@cpi/clickhouse'
import type { Logger } from '@cpi/logger'
import type { Message } from 'kafkajs'
import { type Candidate, processorLetter } from './arrival-stage.ts'
import { writeIsolatingRefusals } from './refused-rows.ts'
import type { LetterMessage } from './validate-stage.ts'

export interface EventsWritten {
  /** Candidates the store refused for their content: not stored, never counted. */
  refused: Set<Candidate>
  /** Their dead letters (storage_rejected), to send before the batch commits. */
  letters: Message[]
}

/**
 * The events stage: writes the accepted events to the `events` table; a row the store refuses
 * for its content becomes a dead letter (storage_rejected) instead of holding its partition
 * back. Any other failure is thrown, and the group is retried.
 */
export async function writeEvents(
  accepted: readonly Candidate[],
  sink: {
    insert: (rows: readonly RawEventRow[]) => Promise<void>
    letter: LetterMessage
    logger: Logger
  },
): Promise<EventsWritten> {
  const refusals = await writeIsolatingRefusals(accepted, (part) =>
    sink.insert(part.map((candidate) => candidate.row)),
  )
  const letters = refusals.map(({ row: candidate, error }) => {
    sink.logger.warn(
      { partition: candidate.row.kafka_partition, offset: candidate.row.kafka_offset, err: error },
      'the store refused an event; dead-lettered',
    )
    return sink.letter(
      candidate.key,
      candidate.raw,
      processorLetter(candidate, 'storage_rejected', [
        { path: '', message: `expected a row the store accepts, got: ${error.message.slice(0, 1000)}` },
      ]),
    )
  })
  return { refused: new Set(refusals.map((refusal) => refusal.row)), letters }
}
