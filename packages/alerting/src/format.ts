// Wording shared by the summaries and the notification payloads.

const UNITS: readonly [ms: number, name: string][] = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1_000, 's'],
]

/** `720000` → `12 min`, `86400000` → `1 d`, `20160000` → `5 h 36 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'ever'
  let rest = Math.max(0, Math.round(ms))
  const parts: string[] = []
  for (const [size, name] of UNITS) {
    const whole = Math.floor(rest / size)
    if (whole > 0) parts.push(`${whole} ${name}`)
    rest -= whole * size
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest} ms`)
  return parts.join(' ')
}

/** Counts may be fractional in tests and sums; show at most two decimals. */
export function formatCount(count: number): string {
  return String(Number(count.toFixed(2)))
}

/** An ISO 8601 time, or null. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString()
}
