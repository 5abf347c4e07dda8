/**
 * Shared reads: callers asking for the same key within `ttlMs` share one computation (also the
 * one in flight). Every dashboard open on the same view costs the engine one query a second,
 * not one per viewer. A failed computation is not kept.
 */
export function createReadCache(options: { ttlMs: number; maxEntries?: number; now?: () => number }) {
  const now = options.now ?? Date.now
  const maxEntries = options.maxEntries ?? 500
  const entries = new Map<string, { at: number; value: Promise<unknown> }>()
  return {
    get<T>(key: string, compute: () => Promise<T>): Promise<T> {
      const at = now()
      const cached = entries.get(key)
      if (cached && at - cached.at < options.ttlMs) return cached.value as Promise<T>
      const value = compute()
      entries.delete(key)
      entries.set(key, { at, value })
      value.catch(() => {
        if (entries.get(key)?.value === value) entries.delete(key)
      })
      // Oldest first in insertion order: drop the oldest beyond the limit.
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string)
      return value
    },
    size: () => entries.size,
  }
}
