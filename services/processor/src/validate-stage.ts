import type { Batch } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import type { DeadLetter, ValidationLimits } from '@cpi/schemas'
import type { Candidate } from './arrival-stage.ts'
import { decideMessage, type KafkaMessageOut, type MessageResult, recordTime } from './message-outcome.ts'
import type { Pseudonymizer } from './pseudonymize.ts'

/** A dead letter as the Kafka message that carries it (its raw payload cut to fit). */
export type LetterMessage = (key: Buffer | null, raw: Buffer, letter: DeadLetter) => KafkaMessageOut

export interface ValidateOptions {
  limits?: Partial<ValidationLimits> | undefined
  pseudonymize?: Pseudonymizer | undefined
  /** How far ahead of the wall clock a record's timestamp may be before it is capped. */
  maxSkewMs: number
  letter: LetterMessage
  logger?: Logger | undefined
}

export interface Validated {
  /** One per message, in offset order per partition: a candidate event, or its dead letter. */
  results: MessageResult<Candidate>[]
  /** Subjects of events keyed otherwise than by their subject: they may have copies on other partitions. */
  unkeyed: string[]
  /** Record timestamps replaced or capped by the wall clock. */
  clampedRecords: number
}

/**
 * The validate stage: every message of the batches is validated again (producers may write to
 * Kafka past the gateway) and becomes a candidate event or a dead letter with its reason. Pure
 * but for the wall clock `arrivedAt` it is given.
 */
export function validateBatches(
  batches: readonly Batch[],
  arrivedAt: number,
  options: ValidateOptions,
): Validated {
  const validated: Validated = { results: [], unkeyed: [], clampedRecords: 0 }
  const wallClock = { now: arrivedAt, maxSkewMs: options.maxSkewMs }
  for (const batch of batches) {
    const source = { topic: batch.topic, partition: batch.partition }
    for (const message of batch.messages) {
      const judged = recordTime(message.timestamp, wallClock)
      if (judged.clamped) validated.clampedRecords++
      const outcome = decideMessage(message, source, options.limits, {
        pseudonymize: options.pseudonymize,
        wallClock,
      })
      if (outcome.kind === 'dead_letter') {
        const letter = options.letter(outcome.key, outcome.raw, outcome.letter)
        validated.results.push({ kind: 'dead_letter', reason: outcome.letter.reason, message: letter })
        options.logger?.debug(
          { partition: batch.partition, offset: message.offset, reason: outcome.letter.reason },
          'event dead-lettered',
        )
        continue
      }
      // The contract keys every event by its subject; one keyed otherwise may have copies on
      // other partitions, which only storage knows of.
      if (message.key?.toString('utf8') !== outcome.row.subject) validated.unkeyed.push(outcome.row.subject)
      const raw = message.value ?? Buffer.alloc(0)
      const candidate = {
        row: outcome.row,
        raw,
        key: message.key,
        judgedAt: judged.time,
        parsed: outcome.parsed,
      }
      validated.results.push({ kind: 'ok', value: candidate })
    }
  }
  return validated
}
