import { exampleEvents } from '@cpi/schemas'
import { describe, expect, it } from 'vitest'
import { decideMessage } from './message-outcome.ts'

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
})
