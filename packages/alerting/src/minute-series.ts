import type { Counts } from './burn-tiers.ts'

export const MINUTE_MS = 60_000

/** One minute of one CPI and segment: `minute` is the epoch ms the minute starts at. */
export interface MinuteCounts {
  minute: number
  good: number
  total: number
}

/** A segment of a CPI; `{ dimension: 'all', value: 'all' }` is the whole CPI. */
export interface Segment {
  dimension: string
  value: string
}

export const allSegment: Segment = { dimension: 'all', value: 'all' }

/**
 * Per-minute counts with prefix sums: the counts over any window in O(log n). Minutes that are
 * missing count as zero. Built once per fetch; immutable afterwards.
 */
export class MinuteSeries {
  readonly #minutes: number[]
  // #goodBefore[i] / #totalBefore[i]: sums over the first i minutes.
  readonly #goodBefore: number[]
  readonly #totalBefore: number[]
  // Minutes with at least one known outcome, for lastDataBefore.
  readonly #minutesWithData: number[]

  /** Accepts the rows in any order; rows of the same minute add up. */
  constructor(points: readonly MinuteCounts[]) {
    for (const [index, point] of points.entries()) {
      const where = `minute series row ${index}`
      if (!Number.isFinite(point.minute) || point.minute % MINUTE_MS !== 0)
        throw new RangeError(`${where}: expected minute at a whole minute (epoch ms), got ${point.minute}`)
      if (!(point.total >= 0 && point.good >= 0 && point.good <= point.total))
        throw new RangeError(
          `${where}: expected 0 ≤ good ≤ total, got good ${point.good}, total ${point.total}`,
        )
    }
    const sorted = points.every(
      (point, index) => index === 0 || (points[index - 1]?.minute ?? 0) < point.minute,
    )
      ? points
      : [...points].sort((a, b) => a.minute - b.minute)

    this.#minutes = []
    this.#goodBefore = [0]
    this.#totalBefore = [0]
    this.#minutesWithData = []
    let good = 0
    let total = 0
    for (const point of sorted) {
      good += point.good
      total += point.total
      const last = this.#minutes.length - 1
      if (last >= 0 && this.#minutes[last] === point.minute) {
        this.#goodBefore[last + 1] = good
        this.#totalBefore[last + 1] = total
      } else {
        this.#minutes.push(point.minute)
        this.#goodBefore.push(good)
        this.#totalBefore.push(total)
      }
      if (point.total > 0 && this.#minutesWithData.at(-1) !== point.minute)
        this.#minutesWithData.push(point.minute)
    }
  }

  /** How many distinct minutes the series holds (zero rows included). */
  get size(): number {
    return this.#minutes.length
  }

  /** Counts over the minutes starting in `[endExclusive − lengthMs, endExclusive)`. */
  window(endExclusive: number, lengthMs: number): Counts {
    const from = lowerBound(this.#minutes, endExclusive - lengthMs)
    const to = lowerBound(this.#minutes, endExclusive)
    if (to <= from) return { good: 0, total: 0 }
    return {
      good: (this.#goodBefore[to] ?? 0) - (this.#goodBefore[from] ?? 0),
      total: (this.#totalBefore[to] ?? 0) - (this.#totalBefore[from] ?? 0),
    }
  }

  /** The start of the last minute before `endExclusive` with at least one outcome, or null. */
  lastDataBefore(endExclusive: number): number | null {
    const index = lowerBound(this.#minutesWithData, endExclusive) - 1
    return this.#minutesWithData[index] ?? null
  }
}

/** The first index whose value is ≥ `value` (the length when none is). */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if ((sorted[middle] as number) < value) low = middle + 1
    else high = middle
  }
  return low
}
