import { exampleEvents } from '@cpi/schemas'
import { describe, expect, it } from 'vitest'
import { decideMessage, recordTime } from './message-outcome.ts'

const source = { topic: 'cpi.events', partition: 3 }
const message = (value: string | null, timestamp = String(Date.parse('2026-12-01T00:00:00Z'))) => ({
  key: Buffer.from('k'),
  value: value === null ? null : Buffer.from(value),
  offset: '42',
  timestamp,
})

describe('decideMessage', () => {
  it('turns a valid event into a raw row that keeps its Kafka position and exact payload', () => {
    const text = JSON.stringify(exampleEvents['call.queued'])
    expect(decideMessage(message(text), source)).toEqual({
      // What the payload parses to, so that the decisions need not parse it again.
      parsed: JSON.parse(text),
      kind: 'ok',
      row: {
        id: 'c-400-queued',
        type: 'call.queued',
        source: '/telephony/acd',
        subject: 'C-400',
        time: '2026-11-22T10:00:00Z',
        payload: text,
        kafka_topic: 'cpi.events',
        kafka_partition: 3,
        kafka_offset: '42',
      },
    })
  })

  it('dead-letters an invalid event with its reason, errors, identity and source position', () => {
    const event = { ...exampleEvents['delivery.delivered'], data: { itemsDelivered: -1 } }
    const outcome = decideMessage(message(JSON.stringify(event)), source)
    expect(outcome).toMatchObject({
      kind: 'dead_letter',
      letter: {
        reason: 'invalid_field',
        origin: 'processor',
        errors: [{ path: 'data.itemsDelivered', message: 'expected integer >= 0, got -1' }],
        eventId: 'd-2001-delivered',
        eventType: 'delivery.delivered',
        subject: 'D-2001',
        source: { topic: 'cpi.events', partition: 3, offset: '42' },
      },
    })
    expect(outcome.kind === 'dead_letter' && outcome.raw.toString()).toBe(JSON.stringify(event))
  })

  it('dead-letters an empty message and bytes that are not JSON', () => {
    expect(decideMessage(message(null), source)).toMatchObject({
      kind: 'dead_letter',
      letter: { reason: 'malformed_json', errors: [{ message: 'expected valid JSON, got an empty body' }] },
    })
    expect(decideMessage(message('\u0000\u0001garbage'), source)).toMatchObject({
      kind: 'dead_letter',
      letter: { reason: 'malformed_json' },
    })
  })

  it('judges time against the message timestamp, so a replay next year decides the same', () => {
    const event = { ...exampleEvents['call.answered'], time: '2026-11-22T10:10:00Z' }
    const sentAt = String(Date.parse('2026-11-22T10:00:00Z'))
    expect(decideMessage(message(JSON.stringify(event), sentAt), source)).toMatchObject({
      kind: 'dead_letter',
      letter: { reason: 'time_in_future', rejectedAt: '2026-11-22T10:00:00.000Z' },
    })
    const later = String(Date.parse('2026-11-22T10:06:00Z'))
    expect(decideMessage(message(JSON.stringify(event), later), source).kind).toBe('ok')
  })

  it('dead-letters a lone UTF-16 surrogate in any string with the field path, never a row the engine refuses', () => {
    for (const [field, text] of [
      ['subject', '{"subject":"Q-\\ud800"}'],
      ['id', '{"id":"\\udc00x"}'],
      ['source', '{"source":"/web/\\ud83d"}'],
    ] as const) {
      const event = JSON.stringify({ ...exampleEvents['call.answered'], [field]: 'placeholder' }).replace(
        `"${field}":"placeholder"`,
        text.slice(1, -1),
      )
      const outcome = decideMessage(message(event), source)
      expect(outcome).toMatchObject({ kind: 'dead_letter', letter: { reason: 'invalid_text' } })
      expect(outcome.kind === 'dead_letter' && outcome.letter.errors[0]?.path).toBe(field)
      expect(outcome.kind === 'dead_letter' && outcome.letter.errors[0]?.message).toMatch(
        /lone surrogate U\+D[8-F]/,
      )
    }
    const nested = JSON.stringify({
      ...exampleEvents['quote.requested'],
      data: { customerId: 'x', customerType: 'consumer', note: 'placeholder' },
    })
    expect(decideMessage(message(nested.replace('placeholder', 'ok \\ud800 then')), source)).toMatchObject({
      kind: 'dead_letter',
      letter: {
        reason: 'invalid_text',
        errors: [{ path: 'data.note', message: expect.stringContaining('character 3') }],
      },
    })
    // A well-formed pair (an emoji) is text like any other.
    const emoji = JSON.stringify({ ...exampleEvents['call.answered'], subject: 'C-\u{1F600}' })
    expect(decideMessage(message(emoji), source).kind).toBe('ok')
  })

  it('decides a message whose Kafka timestamp no date can hold, judged against the wall clock', () => {
    const bound = { now: Date.parse('2026-12-06T12:00:00Z'), maxSkewMs: 60_000 }
    for (const timestamp of ['9223372036854775807', '-9223372036854775808', 'NaN', '8640000000000001']) {
      const event = { ...exampleEvents['call.answered'], time: '2026-12-06T11:59:00Z' }
      expect(
        decideMessage(message(JSON.stringify(event), timestamp), source, {}, { wallClock: bound }).kind,
      ).toBe('ok')
      const broken = decideMessage(message('{"broken"', timestamp), source, {}, { wallClock: bound })
      expect(broken).toMatchObject({
        kind: 'dead_letter',
        letter: { rejectedAt: '2026-12-06T12:00:00.000Z' },
      })
    }
  })

  it('caps a far-future Kafka timestamp at the wall clock plus skew, so far-future events stay invalid', () => {
    const bound = { now: Date.parse('2026-12-06T12:00:00Z'), maxSkewMs: 60_000 }
    const nextYear = String(Date.parse('2027-12-06T12:00:00Z'))
    const event = { ...exampleEvents['call.answered'], time: '2027-12-06T12:00:00Z' }
    expect(
      decideMessage(message(JSON.stringify(event), nextYear), source, {}, { wallClock: bound }),
    ).toMatchObject({
      kind: 'dead_letter',
      letter: { reason: 'time_in_future' },
    })
    expect(recordTime(nextYear, bound)).toEqual({ time: bound.now + 60_000, clamped: true })
    expect(recordTime(String(bound.now - 5), bound)).toEqual({ time: bound.now - 5, clamped: false })
    expect(recordTime('9223372036854775807', bound)).toEqual({ time: bound.now, clamped: true })
  })
})
