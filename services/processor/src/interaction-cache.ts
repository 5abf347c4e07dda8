import type { CountedRow, OutcomeRow, StoredEvent } from '@cpi/clickhouse'

// The processor's keyed state: every stored copy of the events of the interactions it works on,
// per owned partition, so that a batch reads from ClickHouse only the interactions it does not
// hold (decision 0014). ClickHouse stays the truth (docs/architecture.md, principle 1: memory holds at most a cache):
// an entry is either complete — every copy stored for that subject, read once and then kept
// current with every copy this process writes — or absent. A restart, a takeover or a failed
// batch empties it, and the next batch reads again. Pure.

/** What an entry costs in memory beyond its payloads: strings, arrays, map slots (measured order of magnitude). */
const ENTRY_OVERHEAD_BYTES = 160
const COPY_OVERHEAD_BYTES = 200

interface Entry {
  partition: number
  /** When it was read from storage: another writer (`cpi recompute`) is seen once it is older than `maxAgeMs`. */
  readAt: number
  copies: StoredEvent[]
  /** What this process last wrote for each of the interaction's outcome rows (by CPI and row subject). */
  written?: Map<string, string>
  /** Held since before its first stored copy: every outcome row it has is in `written`. */
  rowsKnown: boolean
  bytes: number
}

const rowKey = (row: OutcomeRow) => `${row.cpi}\u0000${row.subject}`

/** An outcome row's content: everything a reader sees, not the watermark it was computed at. */
const rowContent = (row: OutcomeRow) =>
  JSON.stringify([
    row.definition_version,
    row.cohort_at,
    row.state,
    row.status,
    row.latency_ms,
    row.wall_latency_ms ?? null,
    row.pauses ?? 0,
    row.paused_ms ?? null,
    row.open,
    row.segments,
    row.revisit_at,
  ])

/** A copy's text, and its parsed form the outcome stage keeps beside it (about twice the text). */
const copyBytes = (copy: StoredEvent) =>
  COPY_OVERHEAD_BYTES + 2 * (3 * copy.payload.length + copy.id.length + copy.source.length + copy.type.length)

export class InteractionCache {
  /** Insertion order is recency: a touched entry is moved to the end, the oldest evicted first. */
  private readonly entries = new Map<string, Entry>()
  /** Subjects seen under a key other than themselves or on two partitions: always read from storage. */
  private readonly unkeyed = new Set<string>()
  private heldBytes = 0
  readonly stats = { hits: 0, misses: 0, evicted: 0 }

  private readonly limits: { maxBytes: number; maxUnkeyed: number; maxAgeMs: number }

  constructor(limits: {
    /** Estimated bytes the entries may hold (CPI_PROCESSOR_STATE_MAX_BYTES). */
    maxBytes: number
    /** Subjects remembered as not keyed by themselves (bounded: forgotten in bulk when full). */
    maxUnkeyed?: number
    /**
     * How long an entry is trusted after it was read (default 5 minutes, as the revisit
     * schedule): what another writer changed in storage (`cpi recompute --include-late`
     * clearing a flag) is read again after that.
     */
    maxAgeMs?: number
  }) {
    this.limits = {
      maxBytes: limits.maxBytes,
      maxUnkeyed: limits.maxUnkeyed ?? 100_000,
      maxAgeMs: limits.maxAgeMs ?? 5 * 60_000,
    }
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
  lookup(
    partition: number,
    subjects: Iterable<string>,
    now: number,
  ): { held: Map<string, StoredEvent[]>; missing: string[] } {
    const held = new Map<string, StoredEvent[]>()
    const missing: string[] = []
    for (const subject of subjects) {
      const entry = this.entries.get(subject)
      if (entry && entry.partition !== partition) this.markUnkeyed(subject)
      if (entry && entry.partition === partition && now - entry.readAt <= this.limits.maxAgeMs) {
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
  hold(partition: number, subject: string, copies: readonly StoredEvent[], now: number): void {
    if (this.unkeyed.has(subject)) return
    this.drop(subject)
    const entry: Entry = {
      partition,
      readAt: now,
      copies: [...copies],
      rowsKnown: copies.length === 0,
      bytes: ENTRY_OVERHEAD_BYTES + 2 * subject.length,
    }
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

  /**
   * Whether this process wrote this very content for the row last (so writing it again would
   * change nothing a reader sees). Unknown — not held, or read again — counts as changed.
   */
  sameAsWritten(owner: string, row: OutcomeRow): boolean {
    const entry = this.entries.get(owner)
    if (!entry || entry.partition !== row.kafka_partition) return false
    return entry.written?.get(rowKey(row)) === rowContent(row)
  }

  /**
   * Where the row's (cpi, subject) has its live row, as far as this process knows: the cohort
   * time it last wrote and what the rollup counted of it, null when the interaction was held
   * before it had any row, undefined when unknown.
   */
  placement(owner: string, row: OutcomeRow): { cohortAt: string; counted: CountedRow } | null | undefined {
    const entry = this.entries.get(owner)
    if (!entry || entry.partition !== row.kafka_partition) return undefined
    const content = entry.written?.get(rowKey(row))
    if (content !== undefined) {
      const [version, cohortAt, state, status, latency, , , , open, segments] = JSON.parse(content) as [
        number,
        string,
        string,
        string,
        number | null,
        unknown,
        unknown,
        unknown,
        0 | 1,
        Record<string, string>,
      ]
      return {
        cohortAt,
        counted: {
          state,
          status,
          latency_ms: latency,
          open,
          segments,
          kafka_partition: entry.partition,
          cohortAt: Date.parse(cohortAt),
          definition_version: version,
        },
      }
    }
    return entry.rowsKnown ? null : undefined
  }

  /** Remembers a row written for an interaction held. */
  rememberWritten(owner: string, row: OutcomeRow): void {
    const entry = this.entries.get(owner)
    if (!entry || entry.partition !== row.kafka_partition) return
    entry.written ??= new Map()
    const key = rowKey(row)
    const content = rowContent(row)
    const before = entry.written.get(key)
    const bytes = 2 * (content.length - (before?.length ?? -key.length)) + (before === undefined ? 64 : 0)
    entry.written.set(key, content)
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
