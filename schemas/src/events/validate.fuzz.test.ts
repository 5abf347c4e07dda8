import { describe, expect, it } from 'vitest'
import { eventTypes } from './data.ts'
import { exampleEvents } from './examples.ts'
import { seededRandom } from './seeded-random.test-support.ts'
import { parseAndValidate, rejectReasons, type Validation, validateEvent } from './validate.ts'

// Property tests: random mutations of valid events. Every one must come back either accepted
// or rejected with a known reason and, for each problem, a path and an "expected …, got …"
// message; the validator must never throw. Deterministic: a fixed seed per test.

const now = Date.parse('2026-12-31T00:00:00Z')

function expectAnswered(result: Validation, input: unknown): void {
  if (result.ok) {
    // An accepted event is accepted again as it came out: validation is stable.
    expect(validateEvent(result.event, { now }).ok).toBe(true)
    return
  }
  if (!rejectReasons.includes(result.reason)) throw new Error(`unknown reason ${result.reason}`)
  if (result.errors.length === 0) throw new Error(`rejected without errors: ${JSON.stringify(input)}`)
  for (const error of result.errors) {
    if (typeof error.path !== 'string' || !/^expected .+, got .+/s.test(error.message)) {
      throw new Error(`unclear error ${JSON.stringify(error)} for ${JSON.stringify(input)?.slice(0, 300)}`)
    }
  }
}

function randomValue(random: () => number, depth = 0): unknown {
  const pick = Math.floor(random() * 14)
  switch (pick) {
    case 0:
      return undefined
    case 1:
      return null
    case 2:
      return Math.floor(random() * 2000) - 1000
    case 3:
      return random() * 10
    case 4:
      return random() < 0.5
    case 5:
      return ''
    case 6:
      return 'x'.repeat(Math.floor(random() * 10_000))
    case 7:
      return ['consumer', 'business', 'web', 'email', 'inbound', 'agent', 'bot', 'ticket'][
        Math.floor(random() * 8)
      ]
    case 8:
      return new Date(now - random() * 1e10 + (random() < 0.2 ? 1e9 : 0)).toISOString()
    case 9:
      return '2026-13-45T99:00:00Z'
    case 10:
      return depth > 3 ? {} : { nested: randomValue(random, depth + 1) }
    case 11:
      return depth > 3 ? [] : [randomValue(random, depth + 1), randomValue(random, depth + 1)]
    case 12:
      return eventTypes[Math.floor(random() * eventTypes.length)]
    default:
      return Number.NaN
  }
}

function mutate(event: Record<string, unknown>, random: () => number): Record<string, unknown> {
  const copy = structuredClone(event)
  const edits = 1 + Math.floor(random() * 3)
  for (let edit = 0; edit < edits; edit++) {
    const data = (typeof copy.data === 'object' && copy.data !== null ? copy.data : undefined) as
      | Record<string, unknown>
      | undefined
    const target = data && random() < 0.6 ? data : copy
    const keys = Object.keys(target)
    const key =
      random() < 0.8 && keys.length > 0
        ? (keys[Math.floor(random() * keys.length)] as string)
        : `extra${edit}`
    const action = random()
    if (action < 0.3) delete target[key]
    else target[key] = randomValue(random)
  }
  return copy
}

describe('validator fuzzing', () => {
  it('answers 5,000 mutated events with an outcome, never a throw', () => {
    const random = seededRandom(7)
    const counts = { ok: 0, rejected: 0 }
    for (let run = 0; run < 5000; run++) {
      const type = eventTypes[run % eventTypes.length] as (typeof eventTypes)[number]
      const input = mutate(exampleEvents[type] as unknown as Record<string, unknown>, random)
      const result = validateEvent(input, { now })
      expectAnswered(result, input)
      counts[result.ok ? 'ok' : 'rejected']++
    }
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    expect(counts.ok).toBeGreaterThan(250)
    expect(counts.rejected).toBeGreaterThan(2500)
  })

  it('answers 5,000 corrupted JSON texts with an outcome, never a throw', () => {
    const random = seededRandom(11)
    const noise = '{}[]":,\\ 0-9aeE\n\u0000\u2028é'
    let malformed = 0
    for (let run = 0; run < 5000; run++) {
      const type = eventTypes[run % eventTypes.length] as (typeof eventTypes)[number]
      let text = JSON.stringify(exampleEvents[type])
      const at = Math.floor(random() * text.length)
      const action = random()
      if (action < 0.3) text = text.slice(0, at)
      else if (action < 0.6)
        text = text.slice(0, at) + noise[Math.floor(random() * noise.length)] + text.slice(at)
      else text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 5))
      const result = parseAndValidate(text, { now })
      expectAnswered(result, text)
      if (!result.ok && result.reason === 'malformed_json') {
        malformed++
        expect(result.errors[0]?.message).toMatch(/line \d+, column \d+ \(offset \d+\)|an empty body/)
      }
    }
    expect(malformed).toBeGreaterThan(2000)
  })

  it('keeps every valid event valid when unknown fields are added to its data', () => {
    const random = seededRandom(13)
    for (let run = 0; run < 2000; run++) {
      const type = eventTypes[run % eventTypes.length] as (typeof eventTypes)[number]
      const event = structuredClone(exampleEvents[type]) as unknown as Record<string, unknown>
      event.data = { ...((event.data as object | undefined) ?? {}), [`x${run}`]: randomValue(random) }
      const result = validateEvent(event, { now })
      // Unknown data fields are never a rejection, unless a limit (size, depth, length) is hit.
      if (!result.ok) expect(['too_large', 'too_deep', 'string_too_long']).toContain(result.reason)
    }
  })
})
