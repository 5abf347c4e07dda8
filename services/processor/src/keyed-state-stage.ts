import type { StoredEvent } from '@cpi/clickhouse'
import type { Candidate } from './arrival-stage.ts'
import type { InteractionCache } from './interaction-cache.ts'

/** Reads the stored copies of interactions by subject (one query for all of them). */
export type CopiesLoader = (
  subjects: readonly string[],
) => Promise<ReadonlyMap<string, readonly StoredEvent[]>>

/** The subjects of candidates, per partition; one seen on two partitions is never held. */
export function subjectsByPartition(
  candidates: readonly Candidate[],
  cache: Pick<InteractionCache, 'markUnkeyed'>,
): Map<number, Set<string>> {
  const byPartition = new Map<number, Set<string>>()
  const partitionOf = new Map<string, number>()
  for (const { row } of candidates) {
    const seen = partitionOf.get(row.subject)
    if (seen !== undefined && seen !== row.kafka_partition) cache.markUnkeyed(row.subject)
    partitionOf.set(row.subject, row.kafka_partition)
    const subjects = byPartition.get(row.kafka_partition) ?? new Set<string>()
    byPartition.set(row.kafka_partition, subjects)
    subjects.add(row.subject)
  }
  return byPartition
}

/**
 * The keyed-state stage: the stored copies of these interactions, by subject — those the keyed
 * state holds, the rest read with one `load` (and held from then on, unless a copy sits on
 * another partition). Each list returned is the caller's own to extend.
 */
export async function readInteractions(
  wanted: ReadonlyMap<number, ReadonlySet<string>>,
  state: {
    cache: InteractionCache
    load: CopiesLoader
    now: () => number
    /** Told how many interactions were held (hit) and how many read (miss). */
    count?: (hits: number, misses: number) => void
  },
): Promise<Map<string, StoredEvent[]>> {
  const copies = new Map<string, StoredEvent[]>()
  const missing: { partition: number; subject: string }[] = []
  for (const [partition, subjects] of wanted) {
    const { held, missing: absent } = state.cache.lookup(partition, subjects, state.now())
    for (const [subject, list] of held) copies.set(subject, [...list])
    for (const subject of absent) missing.push({ partition, subject })
  }
  state.count?.(copies.size, missing.length)
  if (missing.length === 0) return copies
  const read = await state.load(missing.map((entry) => entry.subject))
  for (const { partition, subject } of missing) {
    const list = read.get(subject) ?? []
    copies.set(subject, [...list])
    if (list.some((copy) => copy.partition !== partition)) state.cache.markUnkeyed(subject)
    else state.cache.hold(partition, subject, list, state.now())
  }
  return copies
}
