/**
 * Event time per partition of the events topic (R6). A partition's watermark is the latest
 * event time seen on it; when the partition goes quiet for `idleAfterMs` it advances with the
 * wall clock, so a quiet stream still turns overdue interactions into misses, while a replay of
 * last month, which is never quiet, is judged on last month's clock. A watermark never moves
 * back. An event older than the latest seen *from its own source* by more than
 * `allowedLatenessMs` (the revision horizon) is too late: kept, counted, left out of the CPIs
 * (docs/architecture.md, principle 3). Lateness is per source so that one source's backlog or pause never pushes
 * another's events out. Pure: the caller passes the wall clock.
 *
 * No event time moves a clock further than `maxSkewMs` ahead of the wall clock: one producer's
 * far-future timestamps would otherwise turn every open interaction of the partition into a
 * miss at once. The event keeps its time; only the clock is capped (and the cap counted).
 */
const MAX_SOURCES = 10_000

export class PartitionClock {
  private readonly partitions = new Map<
    number,
    { maxEventTime: number; lastArrival: number; issued: number; sources: Map<string, number> }
  >()
  private readonly idleAfterMs: number
  private readonly allowedLatenessMs: number
  private readonly maxSkewMs: number

  constructor(options: { idleAfterMs: number; allowedLatenessMs: number; maxSkewMs?: number }) {
    this.idleAfterMs = options.idleAfterMs
    this.allowedLatenessMs = options.allowedLatenessMs
    this.maxSkewMs = options.maxSkewMs ?? Number.POSITIVE_INFINITY
  }

  private capped(eventTime: number, now: number): number {
    return Math.min(eventTime, now + this.maxSkewMs)
  }

  knows(partition: number): boolean {
    return this.partitions.has(partition)
  }

  partitionsKnown(): number[] {
    return [...this.partitions.keys()].sort((a, b) => a - b)
  }

  /**
   * (Re)starts a partition from the latest event time stored before its next offset, so that
   * too-late decisions depend on the partition's content only, not on what this process saw
   * (a retried or replayed batch decides the same). The watermark already given is kept.
   */
  start(
    partition: number,
    maxEventTime: number | undefined,
    now: number,
    bySource: ReadonlyMap<string, number> = new Map(),
  ): void {
    const previous = this.partitions.get(partition)
    this.partitions.set(partition, {
      maxEventTime: this.capped(maxEventTime ?? Number.NEGATIVE_INFINITY, now),
      lastArrival: now,
      issued: previous?.issued ?? Number.NEGATIVE_INFINITY,
      sources: new Map(
        [...bySource].slice(0, MAX_SOURCES).map(([source, time]) => [source, this.capped(time, now)]),
      ),
    })
  }

  /** Takes over a partition another member had: its stored event time, and the watermark recorded for it as a floor. */
  takeOver(partition: number, stored: { maxEventTime?: number; watermark?: number }, now: number): void {
    this.partitions.set(partition, {
      maxEventTime: this.capped(stored.maxEventTime ?? Number.NEGATIVE_INFINITY, now),
      lastArrival: now,
      issued: this.capped(stored.watermark ?? Number.NEGATIVE_INFINITY, now),
      sources: new Map(),
    })
  }

  forget(partition: number): void {
    this.partitions.delete(partition)
  }

  /**
   * Records an event in offset order; says whether it came later than the allowed lateness, and
   * whether its time lay so far ahead of the wall clock that the clock took the cap instead.
   */
  observe(
    partition: number,
    eventTime: number,
    now: number,
    source = '',
  ): { tooLate: boolean; clamped: boolean } {
    let state = this.partitions.get(partition)
    if (!state) {
      state = {
        maxEventTime: Number.NEGATIVE_INFINITY,
        lastArrival: now,
        issued: Number.NEGATIVE_INFINITY,
        sources: new Map(),
      }
      this.partitions.set(partition, state)
    }
    // Sources are a handful of systems; past MAX_SOURCES (a producer inventing one per event)
    // a new source is judged against the whole partition, and memory stays bounded.
    const known = state.sources.get(source)
    const full = known === undefined && state.sources.size >= MAX_SOURCES
    const sourceLatest = known ?? (full ? state.maxEventTime : Number.NEGATIVE_INFINITY)
    const tooLate = eventTime < sourceLatest - this.allowedLatenessMs
    const counted = this.capped(eventTime, now)
    if (!full) state.sources.set(source, Math.max(sourceLatest, counted))
    // Only an event near the partition's head keeps it from being idle: history being imported
    // (or a source catching up) must not stop the watermark from following the wall clock.
    if (counted >= state.maxEventTime - this.idleAfterMs) state.lastArrival = now
    state.maxEventTime = Math.max(state.maxEventTime, counted)
    return { tooLate, clamped: counted < eventTime }
  }

  /** The partition's watermark now (never lower than one it gave before); undefined before any event. */
  watermark(partition: number, now: number): number | undefined {
    const state = this.partitions.get(partition)
    if (!state || !Number.isFinite(state.maxEventTime)) return undefined
    const idle = Math.max(0, now - state.lastArrival - this.idleAfterMs)
    state.issued = Math.max(state.issued, state.maxEventTime + idle)
    return state.issued
  }

  maxEventTime(partition: number): number | undefined {
    const value = this.partitions.get(partition)?.maxEventTime
    return value === undefined || !Number.isFinite(value) ? undefined : value
  }
}
