import type { RawEventRow } from '@cpi/clickhouse'
import type { Logger } from '@cpi/logger'
import { type Candidate, processorLetter } from './arrival-stage.ts'
import { type MessageResult, okValues } from './message-outcome.ts'
import { writeIsolatingRefusals } from './refused-rows.ts'
import type { LetterMessage } from './validate-stage.ts'

/**
 * The events stage: writes the accepted events (the `ok` results) to the `events` table; a row
 * the store refuses for its content becomes a dead letter (storage_rejected) instead of holding
 * its partition back. Any other failure is thrown, and the group is retried. Returns the
 * results with the refused ones turned into dead letters.
 */
export async function writeEvents(
  results: readonly MessageResult<Candidate>[],
  sink: {
    insert: (rows: readonly RawEventRow[]) => Promise<void>
    letter: LetterMessage
    logger: Logger
  },
): Promise<MessageResult<Candidate>[]> {
  const refusals = await writeIsolatingRefusals(okValues(results), (part) =>
    sink.insert(part.map((candidate) => candidate.row)),
  )
  if (refusals.length === 0) return [...results]
  const refused = new Map(refusals.map(({ row, error }) => [row, error]))
  return results.map((result) => {
    const error = result.kind === 'ok' ? refused.get(result.value) : undefined
    if (!error || result.kind !== 'ok') return result
    const candidate = result.value
    sink.logger.warn(
      { partition: candidate.row.kafka_partition, offset: candidate.row.kafka_offset, err: error },
      'the store refused an event; dead-lettered',
    )
    const deadLetter = processorLetter(candidate, 'storage_rejected', [
      { path: '', message: `expected a row the store accepts, got: ${error.message.slice(0, 1000)}` },
    ])
    return {
      kind: 'dead_letter',
      reason: 'storage_rejected',
      message: sink.letter(candidate.key, candidate.raw, deadLetter),
    }
  })
}
