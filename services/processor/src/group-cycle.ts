import type { RawEventRow, StoredEvent } from '@cpi/clickhouse'
import type { Batch, BatchingProducer } from '@cpi/kafka'
import { asStoredCopy, type Candidate, sortArrivals } from './arrival-stage.ts'
import {
  advanceClockPositions,
  type ClockPositions,
  type Observed,
  observeClocks,
  type StoredTime,
  startClocks,
} from './clock-stage.ts'
import {
  type DecideState,
  decideGroups,
  type GroupDecision,
  type OutcomeGroup,
  outcomeGroups,
  readPlacementsBeside,
  writeAndKeep,
} from './decide-stage.ts'
import { writeEvents } from './events-stage.ts'
import { type CopiesLoader, readInteractions, subjectsByPartition } from './keyed-state-stage.ts'
import { deadLetters, type MessageResult, okValues } from './message-outcome.ts'
import type { PlacementsRead } from './outcome-stage.ts'
import { timed } from './outcome-stage.ts'
import type { PartitionClock } from './partition-clock.ts'
import type { ProcessorMetrics } from './processor-metrics.ts'
import type { PartitionRollupState } from './rollup-state.ts'
import { type Validated, type ValidateOptions, validateBatches } from './validate-stage.ts'

/** Everything the group cycle works with: the stores, the per-partition state, the metrics. */
export interface GroupState extends DecideState {
  rollups: PartitionRollupState
  clock: PartitionClock
  positions: ClockPositions
  producer: BatchingProducer
  deadLetterTopic: string
  validate: ValidateOptions
  load: CopiesLoader
  /** Inserts rows into `events` (the events stage isolates a row whose content the store refuses). */
  insertEvents: (rows: readonly RawEventRow[]) => Promise<void>
  storedTime: StoredTime
  now: () => number
  metrics: ProcessorMetrics
}

/**
 * One group of batches (several partitions' batches taken together), stage by stage: clocks,
 * validate, keyed state, arrivals, event time, events (with the dead letters), decide. Resolves
 * once everything derived from the batches is durable; only then do they commit. On failure
 * the clocks and the keyed state of the batches' partitions are dropped: the retry starts them
 * again from what is stored, as what the failed attempt wrote is unknown.
 */
export async function processGroup(batches: readonly Batch[], state: GroupState): Promise<void> {
  const arrivedAt = state.now()
  const { timer } = state.metrics
  try {
    await timed(timer, 'clocks', () => startClocks(batches, arrivedAt, state))
    const validated = await timed(timer, 'validate', async () =>
      validateBatches(batches, arrivedAt, state.validate),
    )
    for (const subject of validated.unkeyed) state.cache.markUnkeyed(subject)
    const stored = await timed(timer, 'state_read', () => readState(okValues(validated.results), state))
    const arrived = sortArrivals(validated.results, stored, state.validate.letter)
    const observed = observeClocks(state.clock, okValues(arrived), arrivedAt)
    const started = performance.now()
    const groups = outcomeGroups(observed.touched, state.clock, state.catalog, arrivedAt)
    const results = await writeAndDecide(arrived, stored, groups, state)
    if (results.decision)
      await writeAndKeep(results.decision, state, { trigger: 'event', placements: results.placements, timer })
    state.metrics.writeSeconds.observe((performance.now() - started) / 1000)
    countGroup(batches, results.messages, { validated, observed }, state)
    advanceClockPositions(batches, state.positions)
  } catch (error) {
    state.metrics.groupFailures.inc()
    for (const batch of batches) {
      state.positions.delete(batch.partition)
      state.cache.forget(batch.partition)
      state.rollups.forget(batch.partition)
    }
    throw error
  }
}

/** The keyed-state stage for a group: the stored copies of every interaction its candidates touch. */
function readState(candidates: readonly Candidate[], state: GroupState): Promise<Map<string, StoredEvent[]>> {
  const { metrics } = state
  return readInteractions(subjectsByPartition(candidates, state.cache), {
    cache: state.cache,
    load: state.load,
    now: state.now,
    count: (hits, misses) => {
      metrics.stateLookups.inc({ result: 'hit' }, hits)
      metrics.stateLookups.inc({ result: 'miss' }, misses)
    },
  })
}

/**
 * The accepted events to `events` while the group's dead letters so far go to their topic; then
 * the dead letters of the rows the store refused. Returns every message's final result.
 */
async function writeEventsAndLetters(
  arrived: readonly MessageResult<Candidate>[],
  state: GroupState,
): Promise<MessageResult<Candidate>[]> {
  const [results] = await Promise.all([
    writeEvents(arrived, { insert: state.insertEvents, letter: state.validate.letter, logger: state.logger }),
    state.producer.send(state.deadLetterTopic, deadLetters(arrived)),
  ])
  const refused = results.filter(
    (result, index) => result.kind === 'dead_letter' && arrived[index]?.kind === 'ok',
  )
  await state.producer.send(state.deadLetterTopic, deadLetters(refused))
  return results
}

/**
 * The events stage and the decisions of the group at once: the accepted events are inserted on
 * the first lane while their interactions are decided as if the store takes every one of them,
 * and the live rows the decision does not know are read on the second lane. Outcomes are written
 * only from what the store took: if it refused an event, the group is decided again without it
 * (an event it refused never counts, even after a crash between the two inserts).
 */
async function writeAndDecide(
  arrived: readonly MessageResult<Candidate>[],
  stored: Map<string, StoredEvent[]>,
  groups: readonly OutcomeGroup[],
  state: GroupState,
): Promise<{
  messages: MessageResult<Candidate>[]
  decision?: GroupDecision
  placements?: PlacementsRead | undefined
}> {
  const { timer } = state.metrics
  const accepted = okValues(arrived)
  // Interactions with no copy stored before this group: no outcome row exists for them anywhere.
  const fresh = new Set(
    accepted.map(({ row }) => row.subject).filter((subject) => !stored.get(subject)?.length),
  )
  const writing = timed(timer, 'events_write', () => writeEventsAndLetters(arrived, state))
  const copies = new Map(
    accepted.map((candidate) => [candidate, asStoredCopy(candidate.row, candidate.parsed)]),
  )
  const withAccepted = withCopies(stored, copies.values())
  let decision = groups.length > 0 ? decideGroups(groups, withAccepted, state, { fresh, timer }) : undefined
  const placing = decision ? readPlacementsBeside(decision, state, timer) : Promise.resolve(undefined)
  const [messages, placements] = await Promise.all([writing, placing])
  const written = okValues(messages)
  const writtenCopies = written.map(
    (candidate) => copies.get(candidate) ?? asStoredCopy(candidate.row, candidate.parsed),
  )
  if (decision && written.length < accepted.length)
    decision = decideGroups(groups, withCopies(stored, writtenCopies), state, { fresh, timer })
  for (const copy of writtenCopies) {
    state.cache.append(copy)
  }
  return { messages, ...(decision ? { decision, placements } : {}) }
}

/** The stored copies of each interaction with these copies added (new lists; `stored` is kept). */
function withCopies(
  stored: ReadonlyMap<string, readonly StoredEvent[]>,
  added: Iterable<StoredEvent>,
): Map<string, StoredEvent[]> {
  const copies = new Map<string, StoredEvent[]>()
  for (const [subject, list] of stored) copies.set(subject, [...list])
  for (const copy of added) copies.get(copy.subject)?.push(copy)
  return copies
}

/**
 * Counts a durable group: a group retried after a failure is not counted twice. Each message
 * counts under one outcome: ok, duplicate (dropped), conflict, or dead_letter (invalid or refused).
 */
function countGroup(
  batches: readonly Batch[],
  results: readonly MessageResult<Candidate>[],
  group: { validated: Validated; observed: Observed },
  state: GroupState,
): void {
  const { metrics, clock, cache } = state
  for (const batch of batches) metrics.batchSizes.observe(batch.messages.length)
  const counts = { ok: 0, duplicate: 0, conflict: 0, dead_letter: 0 }
  for (const result of results) {
    if (result.kind === 'ok') counts.ok++
    else if (result.kind === 'drop') counts.duplicate++
    else {
      counts[result.reason === 'conflicting_duplicate' ? 'conflict' : 'dead_letter']++
      metrics.rejections.inc({ origin: 'processor', reason: result.reason })
    }
  }
  for (const [outcome, count] of Object.entries(counts)) metrics.messages.inc({ outcome }, count)
  metrics.clamped.inc({ what: 'record_timestamp' }, group.validated.clampedRecords)
  metrics.clamped.inc({ what: 'event_time' }, group.observed.clampedTimes)
  metrics.tooLate.inc(group.observed.late)
  for (const batch of batches) {
    const latest = clock.maxEventTime(batch.partition)
    if (latest !== undefined) metrics.freshness.set({ partition: String(batch.partition) }, latest / 1000)
  }
  metrics.stateBytes.set(cache.bytes)
  metrics.stateSize.set(cache.size)
}
