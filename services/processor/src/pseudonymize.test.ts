import { createHmac } from 'node:crypto'
import { exampleEvents } from '@cpi/schemas'
import { describe, expect, it } from 'vitest'
import { decideMessage } from './message-outcome.ts'
import { createPseudonymizer, PSEUDONYM_HEX_LENGTH, pseudonymizeEvent } from './pseudonymize.ts'

const KEY = 'pseudonymize-key-for-tests-0123456789'
const pseudonymize = createPseudonymizer(KEY)

describe('createPseudonymizer', () => {
  it('is p_ and the first 32 hex characters of HMAC-SHA256(key, id)', () => {
    const expected = createHmac('sha256', KEY).update('c-81f2').digest('hex').slice(0, 32)
    expect(pseudonymize('c-81f2')).toBe(`p_${expected}`)
    expect(pseudonymize('c-81f2')).toMatch(new RegExp(`^p_[0-9a-f]{${PSEUDONYM_HEX_LENGTH}}$`))
  })

  it('is deterministic per key, different across ids and keys', () => {
    expect(pseudonymize('cust-1')).toBe(createPseudonymizer(KEY)('cust-1'))
    expect(pseudonymize('cust-1')).not.toBe(pseudonymize('cust-2'))
    expect(createPseudonymizer(`${KEY}-rotated`)('cust-1')).not.toBe(pseudonymize('cust-1'))
    // One character apart, unicode and empty-looking ids still map apart.
    const ids = ['cust-1', 'cust-1 ', 'Cust-1', 'cüst-1', 'x']
    expect(new Set(ids.map(pseudonymize)).size).toBe(ids.length)
  })

  it('leaves a value that already is a pseudonym as it is (a second pass changes nothing)', () => {
    const once = pseudonymize('cust-1')
    expect(pseudonymize(once)).toBe(once)
    // Not mistaken for one: the wrong length or case is hashed like any id.
    expect(pseudonymize('p_0123')).not.toBe('p_0123')
    expect(pseudonymize(once.toUpperCase())).not.toBe(once.toUpperCase())
  })

  it('gives the same pseudonyms with and without its cache, past the cache size too', () => {
    const small = createPseudonymizer(KEY, { cacheSize: 2 })
    const ids = ['a', 'b', 'c', 'a', 'd', 'b', 'a']
    expect(ids.map(small)).toEqual(ids.map((id) => createPseudonymizer(KEY, { cacheSize: 0 })(id)))
    expect(ids.map(small)).toEqual(ids.map(pseudonymize))
  })

  it('refuses a key shorter than 32 characters', () => {
    expect(() => createPseudonymizer('short')).toThrow(/at least 32 characters/)
  })
})

describe('pseudonymizeEvent', () => {
  it('replaces data.customerId and keeps every other field', () => {
    const event = exampleEvents['order.placed']
    const replaced = pseudonymizeEvent(event, pseudonymize)
    expect(replaced).toEqual({ ...event, data: { ...event.data, customerId: pseudonymize('c-81f2') } })
    expect(event.data.customerId).toBe('c-81f2') // the input is not changed
  })

  it('replaces the subject too when the subject is the customer (customer.churned)', () => {
    const replaced = pseudonymizeEvent(exampleEvents['customer.churned'], pseudonymize)
    expect(replaced.subject).toBe(pseudonymize('c-81f2'))
    expect(replaced.data).toEqual({ customerId: pseudonymize('c-81f2') })
  })

  it('returns the same event when it has no customer id', () => {
    const event = exampleEvents['call.answered']
    expect(pseudonymizeEvent(event, pseudonymize)).toBe(event)
    const noData = { subject: 'Q-1' }
    expect(pseudonymizeEvent(noData, pseudonymize)).toBe(noData)
  })
})

describe('decideMessage with a pseudonymizer', () => {
  const source = { topic: 'cpi.events', partition: 0 }
  const message = (value: unknown) => ({
    key: Buffer.from('k'),
    value: Buffer.from(JSON.stringify(value)),
    offset: '7',
    timestamp: String(Date.parse('2026-12-21T00:00:00Z')),
  })

  it('stores the payload and subject with the pseudonym, never the clear id', () => {
    const outcome = decideMessage(message(exampleEvents['customer.churned']), source, {}, { pseudonymize })
    expect(outcome.kind).toBe('ok')
    if (outcome.kind !== 'ok') return
    expect(outcome.row.subject).toBe(pseudonymize('c-81f2'))
    expect(outcome.row.payload).not.toContain('c-81f2')
    // The payload is rewritten: what the message's text parsed to is not what it holds.
    expect(outcome).not.toHaveProperty('parsed')
    expect(JSON.parse(outcome.row.payload)).toEqual({
      ...exampleEvents['customer.churned'],
      subject: pseudonymize('c-81f2'),
      data: { customerId: pseudonymize('c-81f2') },
    })
  })

  it('keeps the exact payload of an event without a customer id', () => {
    const text = JSON.stringify(exampleEvents['call.answered'])
    const outcome = decideMessage(message(exampleEvents['call.answered']), source, {}, { pseudonymize })
    expect(outcome.kind === 'ok' && outcome.row.payload).toBe(text)
  })

  it('keeps the raw bytes of a rejected event (dead letters hold what came)', () => {
    const invalid = { ...exampleEvents['order.placed'], data: { customerId: 'c-81f2', amount: 'lots' } }
    const outcome = decideMessage(message(invalid), source, {}, { pseudonymize })
    expect(outcome.kind).toBe('dead_letter')
    expect(outcome.kind === 'dead_letter' && outcome.raw.toString()).toContain('c-81f2')
  })
})
