import { createHmac } from 'node:crypto'

/** Hex characters of the HMAC kept: 128 bits, so collisions stay negligible (docs/security.md). */
export const PSEUDONYM_HEX_LENGTH = 32
const PSEUDONYM = new RegExp(`^p_[0-9a-f]{${PSEUDONYM_HEX_LENGTH}}$`)

export type Pseudonymizer = (customerId: string) => string

/**
 * `p_` + the first 32 hex characters of HMAC-SHA256(key, customerId). Deterministic, so the same
 * customer gets the same pseudonym in every event and analytics still join by customer; not
 * reversible without the key. A value that already is a pseudonym is left as it is, so an event
 * that goes through twice (a re-publish of stored payloads) keeps its pseudonym.
 */
export function createPseudonymizer(key: string, options: { cacheSize?: number } = {}): Pseudonymizer {
  if (key.length < 32) throw new Error('expected a pseudonymization key of at least 32 characters')
  // Customers recur across events: a bounded cache spares the HMAC (about 4 µs) on repeats.
  const cacheSize = options.cacheSize ?? 10_000
  const cache = new Map<string, string>()
  return (customerId) => {
    const cached = cache.get(customerId)
    if (cached !== undefined) return cached
    const pseudonym = PSEUDONYM.test(customerId)
      ? customerId
      : `p_${createHmac('sha256', key).update(customerId, 'utf8').digest('hex').slice(0, PSEUDONYM_HEX_LENGTH)}`
    if (cache.size >= cacheSize) cache.clear()
    cache.set(customerId, pseudonym)
    return pseudonym
  }
}

/**
 * The event with `data.customerId` replaced by its pseudonym, and its `subject` too when the
 * subject is that customer id (a `customer.churned` event is about the customer). The same
 * object when there is no customer id to replace.
 */
export function pseudonymizeEvent<E extends { subject: string; data?: unknown }>(
  event: E,
  pseudonymize: Pseudonymizer,
): E {
  const data = event.data
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return event
  const clear = (data as Record<string, unknown>).customerId
  if (typeof clear !== 'string' || clear === '') return event
  const pseudonym = pseudonymize(clear)
  if (pseudonym === clear) return event
  return {
    ...event,
    ...(event.subject === clear ? { subject: pseudonym } : {}),
    data: { ...data, customerId: pseudonym },
  }
}
