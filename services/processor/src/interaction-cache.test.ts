import type { OutcomeRow, StoredEvent } from '@cpi/clickhouse'
import { describe, expect, it } from 'vitest'
import { InteractionCache } from './interaction-cache.ts'

const copy = (subject: string, offset: number, partition = 0, payload = '{}'): StoredEvent => ({
  id: `e-${offset}`,
  source: 'test',
  type: 'quote.requested',
  subject,
  time: 1_700_000_000_000 + offset,
  payload,
  tooLate: false,
  partition,
  offset: BigInt(offset),
})

describe('InteractionCache', () => {
  it('holds what was read and what was written since, and reads only what it does not hold', () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    expect(cache.lookup(0, ['Q-1', 'Q-2'], 0).missing).toEqual(['Q-1', 'Q-2'])
    cache.hold(0, 'Q-1', [copy('Q-1', 1)], 0)
    cache.hold(0, 'Q-2', [], 0)
    cache.append(copy('Q-2', 2))
    const { held, missing } = cache.lookup(0, ['Q-1', 'Q-2', 'Q-3'], 0)
    expect(missing).toEqual(['Q-3'])
    expect(held.get('Q-1')?.map((c) => c.offset)).toEqual([1n])
    expect(held.get('Q-2')?.map((c) => c.offset)).toEqual([2n])
    expect(cache.stats).toMatchObject({ hits: 2, misses: 3 })
  })

  it('never appends to an interaction it does not hold: that one is read whole next time', () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    cache.append(copy('Q-1', 1))
    expect(cache.lookup(0, ['Q-1'], 0).missing).toEqual(['Q-1'])
  })

  it('never holds a subject seen on two partitions or keyed by something else', () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    cache.hold(0, 'Q-1', [copy('Q-1', 1)], 0)
    // the same subject looked up from partition 1: its copies may be on both
    expect(cache.lookup(1, ['Q-1'], 0).missing).toEqual(['Q-1'])
    expect(cache.isUnkeyed('Q-1')).toBe(true)
    cache.hold(0, 'Q-1', [copy('Q-1', 1)], 0)
    expect(cache.lookup(0, ['Q-1'], 0).missing).toEqual(['Q-1'])
    // a copy written from another partition than the entry's
    cache.hold(0, 'Q-2', [copy('Q-2', 1)], 0)
    cache.append(copy('Q-2', 5, 3))
    expect(cache.lookup(0, ['Q-2'], 0).missing).toEqual(['Q-2'])
  })

  it('evicts the least recently used entries past its byte budget, and drops decided ones', () => {
    const payload = 'x'.repeat(1000)
    const cache = new InteractionCache({ maxBytes: 3 * (160 + 200 + 2 * 3030) })
    for (const subject of ['A', 'B', 'C']) cache.hold(0, subject, [copy(subject, 1, 0, payload)], 0)
    cache.lookup(0, ['A'], 0) // A is now the most recent
    cache.hold(0, 'D', [copy('D', 1, 0, payload)], 0)
    expect(cache.lookup(0, ['A', 'B', 'C', 'D'], 0).missing).toEqual(['B'])
    expect(cache.stats.evicted).toBe(1)
    const bytes = cache.bytes
    cache.drop('A')
    expect(cache.bytes).toBeLessThan(bytes)
    expect(cache.size).toBe(2)
  })

  it('forgets a partition given up or whose batch failed, and nothing else', () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    cache.hold(0, 'Q-1', [copy('Q-1', 1)], 0)
    cache.hold(1, 'Q-2', [copy('Q-2', 1, 1)], 0)
    cache.forget(0)
    expect(cache.lookup(0, ['Q-1'], 0).missing).toEqual(['Q-1'])
    expect(cache.lookup(1, ['Q-2'], 0).missing).toEqual([])
    expect(cache.size).toBe(1)
  })

  it('reads an entry again once it is older than its maximum age (another writer may have changed storage)', () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000, maxAgeMs: 1000 })
    cache.hold(0, 'Q-1', [copy('Q-1', 1)], 0)
    expect(cache.lookup(0, ['Q-1'], 1000).missing).toEqual([])
    expect(cache.lookup(0, ['Q-1'], 1001).missing).toEqual(['Q-1'])
  })

  it('knows which outcome rows it wrote with the same content, whatever the watermark, while it holds the interaction', () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    const row: OutcomeRow = {
      cpi: 'fast_quote',
      definition_version: 1,
      subject: 'Q-1',
      cohort_at: '2026-12-06T10:00:00.000Z',
      state: 'pending',
      status: '',
      latency_ms: null,
      open: 0,
      segments: { channel: 'web' },
      revisit_at: '2026-12-06T10:00:05.001Z',
      watermark: '2026-12-06T10:00:01.000Z',
      kafka_partition: 0,
      version: 1,
    }
    expect(cache.sameAsWritten('Q-1', row)).toBe(false) // not held: unknown
    cache.hold(0, 'Q-1', [copy('Q-1', 1)], 0)
    expect(cache.sameAsWritten('Q-1', row)).toBe(false) // held, nothing written yet
    cache.rememberWritten('Q-1', row)
    const later = { ...row, watermark: '2026-12-06T10:00:02.000Z', version: 2 }
    expect(cache.sameAsWritten('Q-1', later)).toBe(true)
    expect(cache.sameAsWritten('Q-1', { ...later, state: 'bad' })).toBe(false)
    expect(cache.sameAsWritten('Q-1', { ...later, segments: { channel: 'phone' } })).toBe(false)
    expect(cache.sameAsWritten('Q-1', { ...later, cpi: 'other' })).toBe(false)
    // read again (or dropped): what was written is unknown again
    cache.hold(0, 'Q-1', [copy('Q-1', 1)], 0)
    expect(cache.sameAsWritten('Q-1', later)).toBe(false)
  })

  it("knows where an interaction's outcome rows are only when it held the interaction before its first row", () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    const row = {
      cpi: 'fast_quote',
      definition_version: 1,
      subject: 'Q-1',
      cohort_at: '2026-12-06T10:00:00.000Z',
      state: 'pending',
      status: '',
      latency_ms: null,
      open: 0,
      segments: {},
      revisit_at: null,
      watermark: '2026-12-06T10:00:01.000Z',
      kafka_partition: 0,
      version: 1,
    } satisfies OutcomeRow
    expect(cache.placement('Q-1', row)).toBeUndefined() // not held
    cache.hold(0, 'Q-1', [], 0) // held before it had any copy: no row can exist yet
    expect(cache.placement('Q-1', row)).toBeNull()
    cache.rememberWritten('Q-1', row)
    // The row last written: where it is, and what the rollup counted of it.
    expect(cache.placement('Q-1', { ...row, cohort_at: '2026-12-06T09:58:00.000Z' })).toEqual({
      cohortAt: row.cohort_at,
      counted: {
        state: 'pending',
        status: '',
        latency_ms: null,
        open: 0,
        segments: {},
        kafka_partition: 0,
        cohortAt: Date.parse(row.cohort_at),
        definition_version: row.definition_version,
      },
    })
    expect(cache.placement('Q-1', { ...row, cpi: 'other' })).toBeNull()
    expect(cache.placement('Q-1', { ...row, kafka_partition: 1 })).toBeUndefined() // another partition's
    // Held from copies already stored: rows it did not write may exist.
    cache.hold(0, 'Q-2', [copy('Q-2', 1)], 0)
    expect(cache.placement('Q-2', { ...row, subject: 'Q-2' })).toBeUndefined()
  })

  it('holds nothing with a budget of 0', () => {
    const cache = new InteractionCache({ maxBytes: 0 })
    cache.hold(0, 'Q-1', [copy('Q-1', 1)], 0)
    expect(cache.size).toBe(0)
    expect(cache.bytes).toBe(0)
  })
})
