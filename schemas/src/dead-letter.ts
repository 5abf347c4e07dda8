import type { FieldError, RejectReason } from './events/validate.ts'

/**
 * The dead-letter contract. A rejected event goes to the dead-letter topic with its raw bytes
 * as the message value (exactly as received) and why in the headers below; the dead-letter
 * recorder copies each into the `rejected_events` table.
 */
export const deadLetterHeaders = {
  reason: 'cpi-reject-reason',
  errors: 'cpi-reject-errors',
  origin: 'cpi-reject-origin',
  rejectedAt: 'cpi-rejected-at',
  sourceTopic: 'cpi-source-topic',
  sourcePartition: 'cpi-source-partition',
  sourceOffset: 'cpi-source-offset',
  eventId: 'cpi-event-id',
  eventType: 'cpi-event-type',
  subject: 'cpi-event-subject',
  sender: 'cpi-sender',
} as const

/** Where the rejection happened: the HTTP gateway, or the processor reading the events topic. */
export type RejectOrigin = 'ingest' | 'processor'

export interface DeadLetter {
  reason: RejectReason
  errors: FieldError[]
  origin: RejectOrigin
  rejectedAt: string
  /** For the processor: the message that was rejected. */
  source?: { topic: string; partition: number; offset: string }
  eventId?: string
  eventType?: string
  subject?: string
  /** A non-secret fingerprint of the ingest key that sent it. */
  sender?: string
}

const MAX_ERRORS_HEADER = 8 * 1024

/** Kafka headers for a dead letter (strings only; errors as JSON, cut to a bounded size). */
export function encodeDeadLetterHeaders(letter: DeadLetter): Record<string, string> {
  let errors = JSON.stringify(letter.errors)
  if (errors.length > MAX_ERRORS_HEADER) {
    const kept: FieldError[] = []
    for (const error of letter.errors) {
      if (JSON.stringify([...kept, error]).length > MAX_ERRORS_HEADER - 100) break
      kept.push(error)
    }
    errors = JSON.stringify([
      ...kept,
      {
        path: '',
        message: `expected fewer errors, got ${letter.errors.length - kept.length} more not listed`,
      },
    ])
  }
  const headers: Record<string, string> = {
    [deadLetterHeaders.reason]: letter.reason,
    [deadLetterHeaders.errors]: errors,
    [deadLetterHeaders.origin]: letter.origin,
    [deadLetterHeaders.rejectedAt]: letter.rejectedAt,
  }
  if (letter.source) {
    headers[deadLetterHeaders.sourceTopic] = letter.source.topic
    headers[deadLetterHeaders.sourcePartition] = String(letter.source.partition)
    headers[deadLetterHeaders.sourceOffset] = letter.source.offset
  }
  if (letter.eventId !== undefined) headers[deadLetterHeaders.eventId] = letter.eventId
  if (letter.eventType !== undefined) headers[deadLetterHeaders.eventType] = letter.eventType
  if (letter.subject !== undefined) headers[deadLetterHeaders.subject] = letter.subject
  if (letter.sender !== undefined) headers[deadLetterHeaders.sender] = letter.sender
  return headers
}

/** Reads the headers back; tolerant of missing ones (a dead letter from another producer). */
export function decodeDeadLetterHeaders(
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined>,
): DeadLetter {
  const read = (name: string): string | undefined => {
    const value = headers[name]
    const first = Array.isArray(value) ? value[0] : value
    return first === undefined ? undefined : first.toString()
  }
  let errors: FieldError[] = []
  try {
    const parsed = JSON.parse(read(deadLetterHeaders.errors) ?? '[]')
    if (Array.isArray(parsed)) errors = parsed
  } catch {
    errors = [{ path: '', message: `expected errors as JSON, got ${read(deadLetterHeaders.errors)}` }]
  }
  const topic = read(deadLetterHeaders.sourceTopic)
  const partition = read(deadLetterHeaders.sourcePartition)
  const offset = read(deadLetterHeaders.sourceOffset)
  const letter: DeadLetter = {
    reason: (read(deadLetterHeaders.reason) ?? 'invalid_field') as RejectReason,
    errors,
    origin: read(deadLetterHeaders.origin) === 'ingest' ? 'ingest' : 'processor',
    rejectedAt: read(deadLetterHeaders.rejectedAt) ?? new Date(0).toISOString(),
  }
  if (topic !== undefined && partition !== undefined && offset !== undefined) {
    letter.source = { topic, partition: Number(partition), offset }
  }
  const eventId = read(deadLetterHeaders.eventId)
  const eventType = read(deadLetterHeaders.eventType)
  const subject = read(deadLetterHeaders.subject)
  const sender = read(deadLetterHeaders.sender)
  if (eventId !== undefined) letter.eventId = eventId
  if (eventType !== undefined) letter.eventType = eventType
  if (subject !== undefined) letter.subject = subject
  if (sender !== undefined) letter.sender = sender
  return letter
}
