import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  boundDeadLetterRaw,
  type DeadLetter,
  decodeDeadLetterHeaders,
  encodeDeadLetterHeaders,
} from './dead-letter.ts'

describe('dead-letter headers', () => {
  it('round-trip every field', () => {
    const letter: DeadLetter = {
      reason: 'invalid_field',
      errors: [{ path: 'data.items', message: 'expected integer >= 1, got "three"' }],
      origin: 'processor',
      rejectedAt: '2026-11-22T10:00:00.000Z',
      source: { topic: 'cpi.events', partition: 2, offset: '1234' },
      eventId: 'e-1',
      eventType: 'delivery.scheduled',
      subject: 'D-1',
      sender: 'a1b2c3d4',
    }
    const headers = Object.fromEntries(
      Object.entries(encodeDeadLetterHeaders(letter)).map(([name, value]) => [name, Buffer.from(value)]),
    )
    expect(decodeDeadLetterHeaders(headers)).toEqual(letter)
  })

  it('bounds the errors header and says how many were left out', () => {
    const errors = Array.from({ length: 500 }, (_, index) => ({
      path: `data.f${index}`,
      message: 'x'.repeat(50),
    }))
    const headers = encodeDeadLetterHeaders({
      reason: 'invalid_field',
      errors,
      origin: 'ingest',
      rejectedAt: 'now',
    })
    expect(headers['cpi-reject-errors']?.length).toBeLessThanOrEqual(8 * 1024)
    const decoded = decodeDeadLetterHeaders(headers)
    expect(decoded.errors.at(-1)?.message).toMatch(/^expected fewer errors, got \d+ more not listed$/)
  })

  it('reads a dead letter with missing or broken headers without throwing', () => {
    expect(decodeDeadLetterHeaders({ 'cpi-reject-errors': 'not json' })).toMatchObject({
      reason: 'invalid_field',
      origin: 'processor',
      errors: [{ path: '', message: 'expected errors as JSON, got not json' }],
    })
  })

  it('cuts a raw payload too large for a Kafka record on a character boundary, keeping its size and SHA-256', () => {
    const raw = `{"x":"${'é'.repeat(300_000)}"}` // 600,008 bytes
    const bounded = boundDeadLetterRaw(raw, 1001)
    expect(Buffer.byteLength(bounded.value)).toBe(1000)
    expect(bounded.value.toString()).toBe(`{"x":"${'é'.repeat(497)}`)
    expect(bounded.truncatedRaw).toEqual({
      bytes: 600_008,
      sha256: createHash('sha256').update(raw).digest('hex'),
    })
    // Under the bound: kept whole, nothing added.
    expect(boundDeadLetterRaw('{"a":1}', 1001)).toEqual({ value: '{"a":1}' })
    expect(boundDeadLetterRaw(Buffer.from('{"a":1}'), 7)).toEqual({ value: Buffer.from('{"a":1}') })
  })

  it('round-trips the size and hash of a truncated raw payload through the headers', () => {
    const letter: DeadLetter = {
      reason: 'malformed_json',
      errors: [],
      origin: 'ingest',
      rejectedAt: '2026-11-22T10:00:00.000Z',
      truncatedRaw: { bytes: 2_097_152, sha256: 'ab'.repeat(32) },
    }
    const headers = encodeDeadLetterHeaders(letter)
    expect(headers).toMatchObject({ 'cpi-raw-bytes': '2097152', 'cpi-raw-sha256': 'ab'.repeat(32) })
    expect(decodeDeadLetterHeaders(headers)).toEqual(letter)
  })
})
