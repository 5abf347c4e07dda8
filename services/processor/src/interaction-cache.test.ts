import type { StoredEvent } from '@cpi/clickhouse'
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
    expect(cache.lookup(0, ['Q-1', 'Q-2']).missing).toEqual(['Q-1', 'Q-2'])
    cache.hold(0, 'Q-1', [copy('Q-1', 1)])
    cache.hold(0, 'Q-2', [])
    cache.append(copy('Q-2', 2))
    const { held, missing } = cache.lookup(0, ['Q-1', 'Q-2', 'Q-3'])
    expect(missing).toEqual(['Q-3'])
    expect(held.get('Q-1')?.map((c) => c.offset)).toEqual([1n])
    expect(held.get('Q-2')?.map((c) => c.offset)).toEqual([2n])
    expect(cache.stats).toMatchObject({ hits: 2, misses: 3 })
  })

  it('never appends to an interaction it does not hold: that one is read whole next time', () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    cache.append(copy('Q-1', 1))
    expect(cache.lookup(0, ['Q-1']).missing).toEqual(['Q-1'])
  })

  it('never holds a subject seen on two partitions or keyed by something else', () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    cache.hold(0, 'Q-1', [copy('Q-1', 1)])
    // the same subject looked up from partition 1: its copies may be on both
    expect(cache.lookup(1, ['Q-1']).missing).toEqual(['Q-1'])
    expect(cache.isUnkeyed('Q-1')).toBe(true)
    cache.hold(0, 'Q-1', [copy('Q-1', 1)])
    expect(cache.lookup(0, ['Q-1']).missing).toEqual(['Q-1'])
    // a copy written from another partition than the entry's
    cache.hold(0, 'Q-2', [copy('Q-2', 1)])
    cache.append(copy('Q-2', 5, 3))
    expect(cache.lookup(0, ['Q-2']).missing).toEqual(['Q-2'])
  })

  it('evicts the least recently used entries past its byte budget, and drops decided ones', () => {
    const payload = 'x'.repeat(1000)
    const cache = new InteractionCache({ maxBytes: 3 * (160 + 200 + 2 * 1040) })
    for (const subject of ['A', 'B', 'C']) cache.hold(0, subject, [copy(subject, 1, 0, payload)])
    cache.lookup(0, ['A']) // A is now the most recent
    cache.hold(0, 'D', [copy('D', 1, 0, payload)])
    expect(cache.lookup(0, ['A', 'B', 'C', 'D']).missing).toEqual(['B'])
    expect(cache.stats.evicted).toBe(1)
    const bytes = cache.bytes
    cache.drop('A')
    expect(cache.bytes).toBeLessThan(bytes)
    expect(cache.size).toBe(2)
  })

  it('forgets a partition given up or whose batch failed, and nothing else', () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    cache.hold(0, 'Q-1', [copy('Q-1', 1)])
    cache.hold(1, 'Q-2', [copy('Q-2', 1, 1)])
    cache.forget(0)
    expect(cache.lookup(0, ['Q-1']).missing).toEqual(['Q-1'])
    expect(cache.lookup(1, ['Q-2']).missing).toEqual([])
    expect(cache.size).toBe(1)
  })

  it('holds nothing with a budget of 0', () => {
    const cache = new InteractionCache({ maxBytes: 0 })
    cache.hold(0, 'Q-1', [copy('Q-1', 1)])
    expect(cache.size).toBe(0)
    expect(cache.bytes).toBe(0)
  })
})
