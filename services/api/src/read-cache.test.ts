import { describe, expect, it } from 'vitest'
import { createReadCache } from './read-cache.ts'

describe('createReadCache', () => {
  it('shares one computation per key within the TTL, including the one in flight', async () => {
    let clock = 0
    const cache = createReadCache({ ttlMs: 1000, now: () => clock })
    let calls = 0
    const compute = async () => ++calls
    const [a, b] = await Promise.all([cache.get('k', compute), cache.get('k', compute)])
    expect([a, b, calls]).toEqual([1, 1, 1])
    clock = 999
    expect(await cache.get('k', compute)).toBe(1)
    expect(await cache.get('other', compute)).toBe(2)
    clock = 1000
    expect(await cache.get('k', compute)).toBe(3)
  })

  it('does not keep a failure, and keeps at most maxEntries keys', async () => {
    const cache = createReadCache({ ttlMs: 60_000, maxEntries: 2, now: () => 0 })
    await expect(cache.get('k', async () => Promise.reject(new Error('down')))).rejects.toThrow('down')
    await Promise.resolve()
    expect(await cache.get('k', async () => 'recovered')).toBe('recovered')
    await cache.get('a', async () => 1)
    await cache.get('b', async () => 2)
    expect(cache.size()).toBe(2)
    let recomputed = false
    await cache.get('k', async () => {
      recomputed = true
      return 'again'
    })
    expect(recomputed).toBe(true)
  })
})
