import { describe, expect, it } from 'vitest'
import { TokenBuckets } from './token-bucket.ts'

describe('TokenBuckets', () => {
  it('allows a burst, then refills at the rate, per key', () => {
    const buckets = new TokenBuckets(100, 200)
    expect(buckets.take('a', 200, 0)).toEqual({ ok: true })
    expect(buckets.take('a', 1, 0)).toEqual({ ok: false, retryAfterMs: 10 })
    expect(buckets.take('b', 150, 0)).toEqual({ ok: true }) // another key has its own bucket
    // 499 ms refill 49.9 tokens: 0.1 short, about a millisecond to wait.
    expect(buckets.take('a', 50, 499)).toMatchObject({ ok: false, retryAfterMs: expect.any(Number) })
    expect(buckets.take('a', 50, 501)).toEqual({ ok: true })
  })

  it('takes all or nothing and never exceeds the burst while idle', () => {
    const buckets = new TokenBuckets(10, 20)
    expect(buckets.take('a', 15, 0).ok).toBe(true)
    expect(buckets.take('a', 10, 0)).toEqual({ ok: false, retryAfterMs: 500 })
    expect(buckets.take('a', 5, 0).ok).toBe(true) // the failed take consumed nothing
    expect(buckets.take('a', 20, 1_000_000).ok).toBe(true)
    expect(buckets.take('a', 1, 1_000_000).ok).toBe(false)
  })

  it('says a request larger than the burst can never pass', () => {
    expect(new TokenBuckets(10, 20).take('a', 21, 0)).toEqual({
      ok: false,
      retryAfterMs: Number.POSITIVE_INFINITY,
    })
  })
})
