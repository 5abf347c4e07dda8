import type { RawEventRow } from '@cpi/clickhouse'
import { type DeadLetter, parseAndValidate, type ValidationLimits } from '@cpi/schemas'
import { type Pseudonymizer, pseudonymizeEvent } from './pseudonymize.ts'

/** What the processor does with one Kafka message. Tests assert on this value. */
export type MessageOutcome =
  | { kind: 'ok'; row: RawEventRow }
  | { kind: 'dead_letter'; raw: Buffer; key: Buffer | null; letter: DeadLetter }

export interface SourceMessage {
  key: Buffer | null
  value: Buffer | null
  offset: string
  /** The message's Kafka timestamp (ms, as a string): the clock `time` is judged against. */
  timestamp: string
}

/**
 * Validates one message of the events topic again (producers may write to Kafka directly,
 * past the gateway) and decides: a raw event row, or a dead letter with its reason. Pure:
 * judged against the message's own timestamp, so a replay decides the same way.
 *
 * With `pseudonymize` (CPI_PSEUDONYMIZE_KEY), a valid event's customer id is replaced before
 * anything is stored: the row's payload is then the event re-serialized with the pseudonym
 * (and its subject the pseudonym when the subject was the customer id). A dead letter keeps the
 * raw bytes as they came: that is what makes it worth keeping (docs/security.md).
 */
export function decideMessage(
  message: SourceMessage,
  source: { topic: string; partition: number },
  limits: Partial<ValidationLimits> = {},
  options: { pseudonymize?: Pseudonymizer | undefined } = {},
): MessageOutcome {
  const raw = message.value ?? Buffer.alloc(0)
  const messageTime = Number(message.timestamp)
  const result = parseAndValidate(raw, { now: messageTime, limits })
  if (result.ok) {
    const event = options.pseudonymize ? pseudonymizeEvent(result.event, options.pseudonymize) : result.event
    return {
      kind: 'ok',
      row: {
        id: event.id,
        type: event.type,
        source: event.source,
        subject: event.subject,
        time: event.time,
        payload: event === result.event ? raw.toString('utf8') : JSON.stringify(event),
        kafka_topic: source.topic,
        kafka_partition: source.partition,
        kafka_offset: message.offset,
      },
    }
  }
  const letter: DeadLetter = {
    reason: result.reason,
    errors: result.errors,
    origin: 'processor',
    rejectedAt: new Date(Number.isFinite(messageTime) ? messageTime : 0).toISOString(),
    source: { topic: source.topic, partition: source.partition, offset: message.offset },
  }
  if (result.id !== undefined) letter.eventId = result.id
  if (result.type !== undefined) letter.eventType = result.type
  if (result.subject !== undefined) letter.subject = result.subject
  return { kind: 'dead_letter', raw, key: message.key, letter }
}
