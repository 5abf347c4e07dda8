/**
 * Which interactions of each partition wait for a revisit (a deadline or follow-up window the
 * watermark has not passed yet), kept in memory by the partition's owner: the sweep asks it
 * instead of scanning `outcomes` every second. Filled from ClickHouse when a partition is taken
 * over (and refreshed now and then), then from every outcome row this process writes. Pure.
 */
export class RevisitSchedule {
  private readonly partitions = new Map<number, { loadedAt: number; due: Map<string, number> }>()

  /** Whether the partition's schedule was loaded since `since` (undefined: ever). */
  loaded(partition: number, since = Number.NEGATIVE_INFINITY): boolean {
    const entry = this.partitions.get(partition)
    return entry !== undefined && entry.loadedAt >= since
  }

  /** Replaces the partition's schedule with what is stored (subject → earliest revisit). */
  load(partition: number, due: ReadonlyMap<string, number>, now: number): void {
    this.partitions.set(partition, { loadedAt: now, due: new Map(due) })
  }

  forget(partition: number): void {
    this.partitions.delete(partition)
  }

  /**
   * Records freshly written outcome rows: each subject's earliest revisit over the rows written
   * for it now, or none. Rows of a partition without a loaded schedule are ignored (its load
   * will read them from ClickHouse).
   */
  record(rows: readonly { kafka_partition: number; subject: string; revisit_at: string | null }[]): void {
    const next = new Map<number, Map<string, number | null>>()
    for (const row of rows) {
      if (!this.partitions.has(row.kafka_partition)) continue
      const subjects = next.get(row.kafka_partition) ?? new Map<string, number | null>()
      next.set(row.kafka_partition, subjects)
      const at = row.revisit_at === null ? null : Date.parse(row.revisit_at)
      const seen = subjects.get(row.subject)
      if (seen === undefined) subjects.set(row.subject, at)
      else if (at !== null && (seen === null || at < seen)) subjects.set(row.subject, at)
    }
    for (const [partition, subjects] of next) {
      const due = this.partitions.get(partition)?.due
      if (!due) continue
      for (const [subject, at] of subjects) {
        if (at === null) due.delete(subject)
        else due.set(subject, at)
      }
    }
  }

  /**
   * Takes the subjects of the partition whose revisit is at or before the watermark out of the
   * schedule: recording their recomputed rows puts back those that still wait. (A failed
   * recomputation must `forget` the partition, so that it is loaded again.)
   */
  takeDue(partition: number, watermark: number): string[] {
    const due = this.partitions.get(partition)?.due
    if (!due) return []
    const subjects: string[] = []
    for (const [subject, at] of due) if (at <= watermark) subjects.push(subject)
    for (const subject of subjects) due.delete(subject)
    return subjects
  }

  size(partition: number): number {
    return this.partitions.get(partition)?.due.size ?? 0
  }
}
