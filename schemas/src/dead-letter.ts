import { createHash } from 'node:crypto'
import type { FieldError, RejectReason } from './events/validate.ts'

/**
 * The dead-letter contract. A rejected event goes to the dead-letter topic with its raw bytes
 * as the message value (exactly as received, or its head when too large for a Kafka record:
 * then `cpi-raw-bytes` and `cpi-raw-sha256` give the original's size and hash) and why in the
 * headers below; the dead-letter recorder copies each into the `rejected_events` table.
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
  rawBytes: 'cpi-raw-bytes',
  rawSha256: 'cpi-raw-sha256',
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
  /** Set when the value holds only the head of the payload: the whole one's size and SHA-256 (hex). */
  truncatedRaw?: { bytes: number; sha256: string }
}

/**
 * A rejected payload as a dead-letter value of at most `maxBytes`: as it is when it fits, else
 * its head cut on a UTF-8 character boundary, with the whole payload's size and hash. A payload
 * too large for a Kafka record would otherwise fail every attempt to produce it.
 */
export function boundDeadLetterRaw<Raw extends string | Buffer>(
  raw: Raw,
  maxBytes: number,
): { value: Raw | Buffer; truncatedRaw?: { bytes: number; sha256: string } } {
  const bytes = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength
  if (bytes <= maxBytes) return { value: raw }
  const whole: Buffer = typeof raw === 'string' ? Buffer.from(raw) : (raw as Buffer)
  let end = maxBytes
  // Back off continuation bytes (10xxxxxx) so no character is cut in two.
  while (end > 0 && ((whole[end] as number) & 0xc0) === 0x80) end--
  return {
    value: whole.subarray(0, end),
    truncatedRaw: { bytes, sha256: createHash('sha256').update(whole).digest('hex') },
  }
}

/**
 * A dead letter's Kafka value and headers, the value cut to `maxRawBytes` when longer (with its
 * size and hash in headers and a note in its errors, which `rejected_events` keeps): a dead
 * letter that does not fit a Kafka record would fail, and be retried, forever.
 */
export function boundedDeadLetter<Raw extends string | Buffer>(
  raw: Raw,
  letter: DeadLetter,
  maxRawBytes: number,
): { value: Raw | Buffer; headers: Record<string, string> } {
  const { value, truncatedRaw } = boundDeadLetterRaw(raw, maxRawBytes)
  if (!truncatedRaw) return { value, headers: encodeDeadLetterHeaders(letter) }
  const note = {
    path: '',
    message: `raw payload truncated to ${Buffer.byteLength(value)} of ${truncatedRaw.bytes} bytes (sha256 ${truncatedRaw.sha256})`,
  }
  return {
    value,
    headers: encodeDeadLetterHeaders({ ...letter, truncatedRaw, errors: [...letter.errors, note] }),
  }
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
  if (letter.truncatedRaw) {
    headers[deadLetterHeaders.rawBytes] = String(letter.truncatedRaw.bytes)
    headers[deadLetterHeaders.rawSha256] = letter.truncatedRaw.sha256
  }
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
  const rawBytes = read(deadLetterHeaders.rawBytes)
  const rawSha256 = read(deadLetterHeaders.rawSha256)
  if (rawBytes !== undefined && rawSha256 !== undefined)
    letter.truncatedRaw = { bytes: Number(rawBytes), sha256: rawSha256 }
  return letter
}
