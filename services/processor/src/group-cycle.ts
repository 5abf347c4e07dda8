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
import { type DecideState, decideAndWrite, outcomeGroups } from './decide-stage.ts'
import { writeEvents } from './events-stage.ts'
import { type CopiesLoader, readInteractions, subjectsByPartition } from './keyed-state-stage.ts'
import { deadLetters, type MessageResult, okValues } from './message-outcome.ts'
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
    const results = await timed(timer, 'events_write', () => writeEventsAndLetters(arrived, state))
    // Outcomes are decided from what the store took, and written once it took it: an event
    // it refused never counts, even after a crash between the two inserts.
    const fresh = keepWritten(okValues(results), stored, state)
    const groups = outcomeGroups(observed.touched, state.clock, state.catalog, arrivedAt)
    if (groups.length > 0) await decideAndWrite(groups, stored, state, { trigger: 'event', fresh, timer })
    state.metrics.writeSeconds.observe((performance.now() - started) / 1000)
    countGroup(batches, results, { validated, observed }, state)
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
 * Adds the written events to the copies in hand and to the keyed state. Returns the
 * interactions with no copy stored before this group: no outcome row exists for them anywhere.
 */
function keepWritten(
  written: readonly Candidate[],
  stored: Map<string, StoredEvent[]>,
  state: GroupState,
): Set<string> {
  const fresh = new Set(
    written.map(({ row }) => row.subject).filter((subject) => !stored.get(subject)?.length),
  )
  for (const { row } of written) {
    const copy = asStoredCopy(row)
    stored.get(row.subject)?.push(copy)
    state.cache.append(copy)
  }
  return fresh
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
