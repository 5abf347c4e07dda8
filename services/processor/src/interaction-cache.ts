import type { StoredEvent } from '@cpi/clickhouse'

// The processor's keyed state: every stored copy of the events of the interactions it works on,
// per owned partition, so that a batch reads from ClickHouse only the interactions it does not
// hold (decision 0014). ClickHouse stays the truth (ARCHITECTURE: "at most a cache in memory"):
// an entry is either complete — every copy stored for that subject, read once and then kept
// current with every copy this process writes — or absent. A restart, a takeover or a failed
// batch empties it, and the next batch reads again. Pure.

/** What an entry costs in memory beyond its payloads: strings, arrays, map slots (measured order of magnitude). */
const ENTRY_OVERHEAD_BYTES = 160
const COPY_OVERHEAD_BYTES = 200

interface Entry {
  partition: number
  copies: StoredEvent[]
  bytes: number
}

const copyBytes = (copy: StoredEvent) =>
  COPY_OVERHEAD_BYTES + 2 * (copy.payload.length + copy.id.length + copy.source.length + copy.type.length)

export class InteractionCache {
  /** Insertion order is recency: a touched entry is moved to the end, the oldest evicted first. */
  private readonly entries = new Map<string, Entry>()
  /** Subjects seen under a key other than themselves or on two partitions: always read from storage. */
  private readonly unkeyed = new Set<string>()
  private heldBytes = 0
  readonly stats = { hits: 0, misses: 0, evicted: 0 }

  private readonly limits: { maxBytes: number; maxUnkeyed: number }

  constructor(limits: {
    /** Estimated bytes the entries may hold (CPI_PROCESSOR_STATE_MAX_BYTES). */
    maxBytes: number
    /** Subjects remembered as not keyed by themselves (bounded: forgotten in bulk when full). */
    maxUnkeyed?: number
  }) {
    this.limits = { maxBytes: limits.maxBytes, maxUnkeyed: limits.maxUnkeyed ?? 100_000 }
  }

  get bytes(): number {
    return this.heldBytes
  }

  get size(): number {
    return this.entries.size
  }

  /**
   * Splits the subjects a batch of one partition touches into those held (their complete
   * copies, by subject) and those to read from storage.
   */
  lookup(partition: number, subjects: Iterable<string>): { held: Map<string, StoredEvent[]>; missing: string[] } {
    const held = new Map<string, StoredEvent[]>()
    const missing: string[] = []
    for (const subject of subjects) {
      const entry = this.entries.get(subject)
      if (entry && entry.partition !== partition) this.markUnkeyed(subject)
      if (entry && entry.partition === partition) {
        this.entries.delete(subject)
        this.entries.set(subject, entry)
        held.set(subject, entry.copies)
        this.stats.hits++
      } else {
        missing.push(subject)
        this.stats.misses++
      }
    }
    return { held, missing }
  }

  /**
   * Marks a subject as one whose copies may sit on other partitions (a message keyed by
   * something else than its subject, against the contract): never held, always read.
   */
  markUnkeyed(subject: string): void {
    this.drop(subject)
    if (this.unkeyed.size >= this.limits.maxUnkeyed) this.unkeyed.clear()
    this.unkeyed.add(subject)
  }

  isUnkeyed(subject: string): boolean {
    return this.unkeyed.has(subject)
  }

  /** Holds the complete copies of a subject just read from storage (plus those written since). */
  hold(partition: number, subject: string, copies: readonly StoredEvent[]): void {
    if (this.unkeyed.has(subject)) return
    this.drop(subject)
    const entry: Entry = { partition, copies: [...copies], bytes: ENTRY_OVERHEAD_BYTES + 2 * subject.length }
    for (const copy of copies) entry.bytes += copyBytes(copy)
    this.entries.set(subject, entry)
    this.heldBytes += entry.bytes
    this.evictOverBudget()
  }

  /** A copy this process wrote: appended to its subject's entry, if held. */
  append(copy: StoredEvent): void {
    const entry = this.entries.get(copy.subject)
    if (!entry) return
    if (entry.partition !== copy.partition) {
      this.markUnkeyed(copy.subject)
      return
    }
    entry.copies.push(copy)
    const bytes = copyBytes(copy)
    entry.bytes += bytes
    this.heldBytes += bytes
  }

  /** An interaction decided for good (no revisit waits): its entry is no longer worth its memory. */
  drop(subject: string): void {
    const entry = this.entries.get(subject)
    if (!entry) return
    this.entries.delete(subject)
    this.heldBytes -= entry.bytes
  }

  /** A partition given up, or a batch that failed (what it wrote is unknown): its entries go. */
  forget(partition: number): void {
    for (const [subject, entry] of this.entries) if (entry.partition === partition) this.drop(subject)
  }

  private evictOverBudget(): void {
    for (const subject of this.entries.keys()) {
      if (this.heldBytes <= this.limits.maxBytes) return
      this.drop(subject)
      this.stats.evicted++
    }
  }
}
