import type { RawEventRow } from '@cpi/clickhouse'
import { type DeadLetter, parseAndValidate, type ValidationLimits } from '@cpi/schemas'
import type { Message } from 'kafkajs'
import { type Pseudonymizer, pseudonymizeEvent } from './pseudonymize.ts'

/** What the processor does with one Kafka message. Tests assert on this value. */
export type MessageOutcome =
  | {
      kind: 'ok'
      row: RawEventRow
      /** The value `row.payload` parses to (from validation), when the payload is the message's own text. */
      parsed?: unknown
    }
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
  options: { pseudonymize?: Pseudonymizer | undefined; wallClock?: RecordClockBound } = {},
): MessageOutcome {
  const raw = message.value ?? Buffer.alloc(0)
  const messageTime = recordTime(message.timestamp, options.wallClock).time
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
      ...(event === result.event ? { parsed: result.parsed } : {}),
    }
  }
  const letter: DeadLetter = {
    reason: result.reason,
    errors: result.errors,
    origin: 'processor',
    rejectedAt: new Date(messageTime).toISOString(),
    source: { topic: source.topic, partition: source.partition, offset: message.offset },
  }
  if (result.id !== undefined) letter.eventId = result.id
  if (result.type !== undefined) letter.eventType = result.type
  if (result.subject !== undefined) letter.subject = result.subject
  return { kind: 'dead_letter', raw, key: message.key, letter }
}

/** The wall clock when the message is processed, and how far ahead of it a record's timestamp may be. */
export interface RecordClockBound {
  now: number
  maxSkewMs: number
}

/** JavaScript dates span ±8.64e15 ms; Kafka timestamps are any 64-bit number. */
const MAX_DATE_MS = 8.64e15

/**
 * The clock an event's `time` is judged against: the Kafka record's timestamp, so a replay
 * decides as the live run did. A timestamp no date can hold (a producer may write any 64-bit
 * number, or -1 for none) is replaced by the wall clock, and one ahead of the wall clock by more than the
 * allowed skew is capped there: a producer with a broken clock cannot make far-future events
 * valid. `clamped` says either happened. Without a wall clock (pure callers), an unusable
 * timestamp becomes 0, which only makes `time` checks stricter.
 */
export function recordTime(timestamp: string, bound?: RecordClockBound): { time: number; clamped: boolean } {
  const recorded = Number(timestamp)
  // Kafka writes -1 for "no timestamp"; no producer means 1970 either.
  const usable = Number.isSafeInteger(recorded) && recorded > 0 && recorded <= MAX_DATE_MS
  if (!bound) return { time: usable ? recorded : 0, clamped: !usable }
  const ceiling = bound.now + bound.maxSkewMs
  if (!usable) return { time: bound.now, clamped: true }
  return recorded > ceiling ? { time: ceiling, clamped: true } : { time: recorded, clamped: false }
}

/**
 * What becomes of one message of a group, whichever stage decided it: carried on (`ok`, with
 * the stage's value), sent to the dead-letter topic with its reason, or dropped (a duplicate of
 * an event already accepted: it changes nothing). Each stage takes the `ok` results of the one
 * before and passes the others through, so every message ends under exactly one kind.
 */
export type MessageResult<Value> =
  | { kind: 'ok'; value: Value }
  | { kind: 'dead_letter'; reason: DeadLetter['reason']; message: KafkaMessageOut }
  | { kind: 'drop'; reason: 'duplicate' }

/** A message to produce (a dead letter), as the Kafka client takes it. */
export type KafkaMessageOut = Message

/** The values of the results still carried on, in order. */
export function okValues<Value>(results: readonly MessageResult<Value>[]): Value[] {
  const values: Value[] = []
  for (const result of results) if (result.kind === 'ok') values.push(result.value)
  return values
}

/** The dead letters among the results, in order. */
export function deadLetters(results: readonly MessageResult<unknown>[]): KafkaMessageOut[] {
  const letters: KafkaMessageOut[] = []
  for (const result of results) if (result.kind === 'dead_letter') letters.push(result.message)
  return letters
}
