import { describe, expect, it } from 'vitest'
import { eventTypes } from './data.ts'
import { exampleEvents } from './examples.ts'
import { parseAndValidate, validateEvent } from './validate.ts'

const now = Date.parse('2026-12-31T00:00:00Z')
const clone = <T>(value: T): T => structuredClone(value)

describe('validateEvent', () => {
  it.each(eventTypes)('accepts the example %s', (type) => {
    const result = validateEvent(exampleEvents[type], { now })
    expect(result).toEqual({ ok: true, event: exampleEvents[type] })
  })

  it('answers with the field path, what was expected and what came', () => {
    const event = clone(exampleEvents['delivery.scheduled'])
    ;(event.data as Record<string, unknown>).items = 'three'
    expect(validateEvent(event, { now })).toEqual({
      ok: false,
      reason: 'invalid_field',
      errors: [{ path: 'data.items', message: 'expected integer >= 1, got "three"' }],
      id: event.id,
      type: 'delivery.scheduled',
      subject: event.subject,
    })
  })

  it('lists every wrong field of an event, not just the first', () => {
    const event = clone(exampleEvents['ticket.message']) as Record<string, unknown>
    event.data = { direction: 'sideways', author: 42 }
    delete event.subject
    const result = validateEvent(event, { now })
    expect(result.ok).toBe(false)
    expect(!result.ok && result.errors).toEqual(
      expect.arrayContaining([
        { path: 'subject', message: 'expected string of 1 to 256 characters, got nothing' },
        { path: 'data.direction', message: 'expected one of "inbound", "outbound", got "sideways"' },
        { path: 'data.author', message: 'expected one of "customer", "agent", "bot", got 42' },
      ]),
    )
  })

  it('names the field, the expectation and what came for checkout and value events', () => {
    const started = clone(exampleEvents['checkout.started']) as Record<string, unknown>
    started.data = { customerId: 'c-1', offeredMethods: [], expiresAt: 'in an hour' }
    const startedResult = validateEvent(started, { now })
    expect(!startedResult.ok && startedResult.errors).toEqual(
      expect.arrayContaining([
        {
          path: 'data.offeredMethods',
          message: 'expected an array of 1 to 32 payment method names, got an array of 0',
        },
        {
          path: 'data.expiresAt',
          message:
            'expected an RFC 3339 date-time with a time zone, e.g. 2026-11-22T10:15:02.311Z, got "in an hour"',
        },
      ]),
    )
    const abandoned = clone(exampleEvents['checkout.abandoned'])
    ;(abandoned.data as Record<string, unknown>).stage = 'basket'
    expect(validateEvent(abandoned, { now })).toMatchObject({
      ok: false,
      reason: 'invalid_field',
      errors: [
        {
          path: 'data.stage',
          message: 'expected one of "cart", "details", "shipping", "payment", got "basket"',
        },
      ],
    })
    const completed = clone(exampleEvents['checkout.completed'])
    ;(completed.data as Record<string, unknown>).paymentMethod = 'Credit Card'
    expect(validateEvent(completed, { now })).toMatchObject({
      ok: false,
      errors: [
        {
          path: 'data.paymentMethod',
          message:
            'expected a payment method name of 1 to 64 characters (a-z, 0-9, _ and -), got "Credit Card"',
        },
      ],
    })
    const credited = clone(exampleEvents['value.credited'])
    const data = credited.data as Record<string, unknown>
    data.amount = -3
    delete data.unit
    const creditedResult = validateEvent(credited, { now })
    expect(!creditedResult.ok && creditedResult.errors).toEqual([
      { path: 'data.amount', message: 'expected number >= 0, got -3' },
      { path: 'data.unit', message: 'expected string of 1 to 32 characters, got nothing' },
    ])
  })

  it('rejects an unknown type, naming the known ones', () => {
    const result = validateEvent({ ...exampleEvents['call.answered'], type: 'call.teleported' }, { now })
    expect(result).toMatchObject({ ok: false, reason: 'unknown_type', errors: [{ path: 'type' }] })
    expect(!result.ok && result.errors[0]?.message).toMatch(/call\.queued.*got "call\.teleported"$/)
  })

  it('rejects a time that is not RFC 3339 with a zone, and a time more than 5 minutes ahead', () => {
    const noZone = validateEvent({ ...exampleEvents['call.answered'], time: '2026-11-22 10:00:14' }, { now })
    expect(noZone).toMatchObject({ ok: false, reason: 'invalid_field', errors: [{ path: 'time' }] })
    const ahead = new Date(now + 5 * 60_000 + 1).toISOString()
    expect(validateEvent({ ...exampleEvents['call.answered'], time: ahead }, { now })).toMatchObject({
      ok: false,
      reason: 'time_in_future',
      errors: [{ path: 'time' }],
    })
    const atLimit = new Date(now + 5 * 60_000).toISOString()
    expect(validateEvent({ ...exampleEvents['call.answered'], time: atLimit }, { now }).ok).toBe(true)
  })

  it('keeps unknown fields in data and unknown extension attributes', () => {
    const event = { ...clone(exampleEvents['quote.issued']), traceparent: '00-abc-01' }
    ;(event.data as Record<string, unknown>).discountCode = 'WINTER'
    const result = validateEvent(event, { now })
    expect(result.ok && result.event).toMatchObject({
      traceparent: '00-abc-01',
      data: { discountCode: 'WINTER', amount: 412.5 },
    })
  })

  it('lets data be left out only where it has no required field', () => {
    const { data: _ignored, ...resolved } = clone(exampleEvents['ticket.reopened'])
    expect(validateEvent(resolved, { now }).ok).toBe(true)
    const { data: _data, ...opened } = clone(exampleEvents['ticket.opened'])
    expect(validateEvent(opened, { now })).toMatchObject({
      ok: false,
      errors: [{ path: 'data', message: 'expected an object, got nothing' }],
    })
  })

  it('checks the survey scores and the CloudEvents version', () => {
    const survey = clone(exampleEvents['survey.responded'])
    ;(survey.data as Record<string, unknown>).csat = 6
    expect(validateEvent(survey, { now })).toMatchObject({
      errors: [{ path: 'data.csat', message: 'expected integer from 1 to 5, got 6' }],
    })
    expect(validateEvent({ ...exampleEvents['call.answered'], specversion: '0.3' }, { now })).toMatchObject({
      errors: [{ path: 'specversion', message: 'expected "1.0" (CloudEvents 1.0), got "0.3"' }],
    })
  })

  it('copes with a sparse array, which JSON never makes but a caller can pass (found by fuzzing)', () => {
    const data: unknown[] = []
    data[2] = 'x'
    expect(validateEvent({ ...exampleEvents['quote.issued'], data }, { now })).toMatchObject({
      ok: false,
      reason: 'invalid_field',
      errors: [{ path: 'data', message: 'expected an object, got an array of 3' }],
    })
  })

  it('refuses values that are not objects', () => {
    for (const value of [null, 42, 'event', [exampleEvents['call.answered']]]) {
      expect(validateEvent(value, { now })).toMatchObject({
        ok: false,
        reason: 'not_an_object',
        errors: [{ path: '' }],
      })
    }
  })

  it('enforces depth, string length and size limits with the path where they break', () => {
    const deep = clone(exampleEvents['quote.issued']) as Record<string, unknown>
    let nested: Record<string, unknown> = {}
    deep.data = { nest: nested }
    for (let level = 0; level < 20; level++) {
      const next: Record<string, unknown> = {}
      nested.next = next
      nested = next
    }
    expect(validateEvent(deep, { now })).toMatchObject({ ok: false, reason: 'too_deep' })

    const long = clone(exampleEvents['quote.declined'])
    ;(long.data as Record<string, unknown>).note = 'x'.repeat(9000)
    expect(validateEvent(long, { now })).toMatchObject({
      ok: false,
      reason: 'string_too_long',
      errors: [
        { path: 'data.note', message: 'expected a string of at most 8192 characters, got 9000 characters' },
      ],
    })

    const big = clone(exampleEvents['quote.declined'])
    ;(big.data as Record<string, unknown>).notes = Array.from({ length: 20 }, () => 'y'.repeat(4000))
    expect(validateEvent(big, { now })).toMatchObject({
      ok: false,
      reason: 'too_large',
      errors: [{ path: '' }],
    })
  })
})

describe('parseAndValidate', () => {
  it('gives the line and column of malformed JSON', () => {
    expect(parseAndValidate('{"specversion": "1.0",\n  "id": }', { now })).toEqual({
      ok: false,
      reason: 'malformed_json',
      errors: [{ path: '', message: 'expected valid JSON, got "}" at line 2, column 9 (offset 31)' }],
    })
    expect(parseAndValidate('', { now })).toMatchObject({
      errors: [{ message: 'expected valid JSON, got an empty body' }],
    })
  })

  it('refuses an oversized event before parsing it', () => {
    const text = JSON.stringify({ ...exampleEvents['quote.declined'], pad: 'z'.repeat(70_000) })
    expect(parseAndValidate(text, { now })).toMatchObject({ ok: false, reason: 'too_large' })
  })

  it('gives the value the text parsed to beside the event: fields the schema does not name kept', () => {
    const sent = { ...exampleEvents['quote.requested'], extension: 'kept' }
    sent.data = { ...sent.data, customField: { nested: [1, 2] } }
    const result = parseAndValidate(JSON.stringify(sent), { now })
    expect(result.ok && result.parsed).toEqual(sent)
  })

  it('accepts bytes as well as text', () => {
    const bytes = Buffer.from(JSON.stringify(exampleEvents['order.placed']))
    expect(parseAndValidate(bytes, { now }).ok).toBe(true)
  })

  it('refuses text that is not well-formed Unicode (a lone surrogate), in values and keys, with where it is', () => {
    const text = JSON.stringify(exampleEvents['ticket.opened'])
    expect(parseAndValidate(text.replace('"T-300"', '"T-\\ud800"'), { now })).toEqual({
      ok: false,
      reason: 'invalid_text',
      errors: [
        {
          path: 'subject',
          message: 'expected text of well-formed Unicode, got a lone surrogate U+D800 at character 2',
        },
      ],
      id: exampleEvents['ticket.opened'].id,
      type: 'ticket.opened',
      subject: 'T-\ud800',
    })
    const key = text.replace('"data":{', '"data":{"x\\udc00":1,')
    expect(parseAndValidate(key, { now })).toMatchObject({
      reason: 'invalid_text',
      errors: [
        {
          path: 'data.x\udc00',
          message: 'expected a key of well-formed Unicode, got a lone surrogate U+DC00 at character 1',
        },
      ],
    })
    // A surrogate pair (an emoji) is well-formed.
    expect(parseAndValidate(text.replace('"T-300"', '"T-\\ud83d\\ude00"'), { now }).ok).toBe(true)
  })
})
