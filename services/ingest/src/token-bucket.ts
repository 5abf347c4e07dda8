/**
 * A token bucket per key: `ratePerSecond` tokens flow in, at most `burst` wait. A request
 * takes one token per event, all or nothing. Pure: the caller passes the clock.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>()
  private readonly ratePerSecond: number
  private readonly burst: number

  constructor(ratePerSecond: number, burst: number) {
    this.ratePerSecond = ratePerSecond
    this.burst = burst
  }

  /** Takes `count` tokens for `key` at time `now` (ms); when there are too few, says how long to wait. */
  take(key: string, count: number, now: number): { ok: true } | { ok: false; retryAfterMs: number } {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, updatedAt: now }
    const elapsed = Math.max(0, now - bucket.updatedAt)
    bucket.tokens = Math.min(this.burst, bucket.tokens + (elapsed * this.ratePerSecond) / 1000)
    bucket.updatedAt = now
    this.buckets.set(key, bucket)
    if (count > this.burst) return { ok: false, retryAfterMs: Number.POSITIVE_INFINITY }
    if (bucket.tokens >= count) {
      bucket.tokens -= count
      return { ok: true }
    }
    return { ok: false, retryAfterMs: Math.ceil(((count - bucket.tokens) / this.ratePerSecond) * 1000) }
  }
}
