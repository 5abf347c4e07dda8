import {
  type ClickHouse,
  followCoarserGrains,
  insertEvents,
  maxEventTimeBefore,
  type OutcomeRow,
  partitionTime,
  pendingRevisits,
  recordWatermarks,
  type StoredEvent,
} from '@cpi/clickhouse'
import type { CpiDefinition } from '@cpi/cpi-core'
import { type Batch, BatchConsumer, type BatchingProducer } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { counter, gauge, histogram, rejectedEventsCounter } from '@cpi/runtime'
import { boundedDeadLetter, type DeadLetter, type ValidationLimits } from '@cpi/schemas'
import type { Kafka, Message } from 'kafkajs'
import type { Registry } from 'prom-client'
import { asStoredCopy, type Candidate, processorLetter, sortArrivals } from './arrival-stage.ts'
import { InteractionCache } from './interaction-cache.ts'
import { decideMessage, recordTime } from './message-outcome.ts'
import {
  loadCopiesBySubject,
  type OutcomeWrite,
  recomputeOutcomesOfPartitions,
  type StageTimer,
  timed,
} from './outcome-stage.ts'
import { PartitionClock } from './partition-clock.ts'
import type { Pseudonymizer } from './pseudonymize.ts'
import { type Refusal, writeIsolatingRefusals } from './refused-rows.ts'
import { RevisitSchedule } from './revisit-schedule.ts'

/** A dead letter as a Kafka message, its raw payload cut to fit a record (the rest: size and hash). */
const letterMessage = (
  key: Buffer | null,
  raw: Buffer,
  letter: DeadLetter,
  maxRawBytes: number,
): Message => ({
  key,
  ...boundedDeadLetter(raw, letter, maxRawBytes),
})

export interface EventProcessorDependencies {
  kafka: Kafka
  clickhouse: ClickHouse
  producer: BatchingProducer
  topics: { events: string; deadLetter: string }
  groupId: string
  registry: Registry
  logger: Logger
  limits?: Partial<ValidationLimits>
  consumerConfig?: ConstructorParameters<typeof BatchConsumer>[0]['consumerConfig']
  /** The CPIs whose outcomes the processor keeps; none: raw events only. */
  catalog?: readonly CpiDefinition[]
  /**
   * Event-time rules (R6): how long a quiet partition waits before its clock follows the wall
   * clock, the allowed lateness, and how far ahead of the wall clock a record timestamp or an
   * event time may move a clock (default 60 s).
   */
  time?: { idleAfterMs: number; allowedLatenessMs: number; maxClockSkewMs?: number }
  /** The wall clock (tests pass their own). */
  now?: () => number
  /** Partitions whose batches are taken at once and written as one group (default 1). */
  concurrentPartitions?: number
  /** Raw bytes a dead letter keeps (CPI_DEAD_LETTER_MAX_RAW_BYTES, default 256 KiB). */
  deadLetterMaxRawBytes?: number
  /** Replaces customer ids before they are stored (CPI_PSEUDONYMIZE_KEY). */
  pseudonymize?: Pseudonymizer | undefined
  /** Estimated bytes of stored events the keyed state may hold (CPI_PROCESSOR_STATE_MAX_BYTES, default 64 MiB). */
  stateMaxBytes?: number
}

/**
 * The processor's first stage: every message of the events topic is validated again and
 * either written to the raw `events` table or sent to the dead-letter topic with its reason.
 * The batch's offsets are committed only after ClickHouse and Kafka acknowledged both, so a
 * crash replays the batch; rows are idempotent and dead letters are deduplicated by their
 * source position downstream. One bad message never blocks its partition.
 */
export function createEventProcessor(deps: EventProcessorDependencies) {
  const logger = deps.logger.child({ component: 'processor' })
  const outcomes = counter(deps.registry, {
    name: 'cpi_processor_events_total',
    help: 'Messages of the events topic by outcome',
    labelNames: ['outcome'] as const,
  })
  const rejections = rejectedEventsCounter(deps.registry)
  const batchSizes = histogram(deps.registry, {
    name: 'cpi_processor_batch_size',
    help: 'Messages per processed batch',
    buckets: [1, 10, 50, 100, 500, 1000, 5000, 10_000],
  })
  const insertSeconds = histogram(deps.registry, {
    name: 'cpi_processor_write_seconds',
    help: 'Time to make one batch durable (ClickHouse insert and dead letters)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  })
  const stageSeconds = histogram(deps.registry, {
    name: 'cpi_processor_stage_seconds',
    help: 'Time a group of batches or a sweep spent in each stage (where the processor waits)',
    labelNames: ['stage'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  })
  const timer: StageTimer = (stage, seconds) => stageSeconds.observe({ stage }, seconds)

  const now = deps.now ?? Date.now
  const catalog = deps.catalog ?? []
  const maxSkewMs = deps.time?.maxClockSkewMs ?? 60_000
  const maxRawBytes = deps.deadLetterMaxRawBytes ?? 256 * 1024
  const letter = (key: Buffer | null, raw: Buffer, deadLetter: DeadLetter) =>
    letterMessage(key, raw, deadLetter, maxRawBytes)
  const clock = new PartitionClock({
    idleAfterMs: deps.time?.idleAfterMs ?? 5000,
    allowedLatenessMs: deps.time?.allowedLatenessMs ?? 8 * 86_400_000,
    maxSkewMs,
  })
  /** Interactions waiting for a revisit, per owned partition; reloaded from ClickHouse every 5 minutes. */
  const revisits = new RevisitSchedule()
  /** The newest minute row (`_block_number`) the sweep wrote coarser buckets for; unknown at start. */
  let coarserSince: bigint | undefined
  const REVISITS_REFRESH_MS = 5 * 60_000
  /** The next offset each partition's clock has seen up to; anything else restarts it from ClickHouse. */
  const clockPosition = new Map<number, bigint>()
  const tooLate = counter(deps.registry, {
    name: 'cpi_events_too_late_total',
    help: 'Events that came later than the allowed lateness: stored, left out of CPIs',
  })
  const clamped = counter(deps.registry, {
    name: 'cpi_clock_clamped_total',
    help: 'Record timestamps no date can hold or ahead of the wall clock by more than the allowed skew (judged against the capped clock), and event times that would have moved a partition clock past it',
    labelNames: ['what'] as const,
  })
  const refusedOutcomes = counter(deps.registry, {
    name: 'cpi_outcomes_refused_total',
    help: 'Outcome rows the store refused for their content: left out so the partition moves on',
    labelNames: ['cpi'] as const,
  })
  const outcomeRows = counter(deps.registry, {
    name: 'cpi_outcomes_written_total',
    help: 'Outcome rows written (recomputations included)',
    labelNames: ['trigger'] as const,
  })
  const unchangedRows = counter(deps.registry, {
    name: 'cpi_outcomes_unchanged_total',
    help: 'Outcome rows decided again with the content this process last wrote for them: not written again',
    labelNames: ['trigger'] as const,
  })
  const freshness = gauge(deps.registry, {
    name: 'cpi_processor_last_event_time_seconds',
    help: 'Latest event time processed, per partition of the events topic (freshness)',
    labelNames: ['partition'] as const,
  })
  const lagGauge = gauge(deps.registry, {
    name: 'cpi_consumer_lag_messages',
    help: 'Messages of the events topic not yet processed and committed, per partition (as of the last batch)',
    labelNames: ['partition'] as const,
  })
  const watermarkGauge = gauge(deps.registry, {
    name: 'cpi_processor_watermark_seconds',
    help: 'Event-time watermark per partition (R6)',
    labelNames: ['partition'] as const,
  })
  /** The keyed state: the stored copies of the interactions in work, per owned partition (decision 0014). */
  const cache = new InteractionCache({ maxBytes: deps.stateMaxBytes ?? 64 * 1024 * 1024 })
  const stateLookups = counter(deps.registry, {
    name: 'cpi_processor_state_lookups_total',
    help: 'Interactions a batch or sweep needed, by whether the keyed state held them (hit) or they were read from ClickHouse (miss)',
    labelNames: ['result'] as const,
  })
  const stateBytes = gauge(deps.registry, {
    name: 'cpi_processor_state_bytes',
    help: 'Estimated bytes held by the keyed state (stored events of interactions in work)',
  })
  const stateSize = gauge(deps.registry, {
    name: 'cpi_processor_state_interactions',
    help: 'Interactions held by the keyed state',
  })
  // One computation at a time: a batch and a sweep never write the same outcome out of order.
  let exclusive: Promise<unknown> = Promise.resolve()
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = exclusive.then(work, work)
    exclusive = run.catch(() => undefined)
    return run
  }

  // Group commit: batches of different partitions that arrive while a group is being written
  // (kafkajs hands out up to `partitionsConsumedConcurrently` at once) are written together —
  // one insert of raw events, one read of the touched interactions, one insert of outcomes —
  // instead of three engine round trips per partition. Each batch still commits on its own,
  // after the group it was in is durable; a failed group fails (and retries) all its batches.
  let waiting: { batch: Batch; resolve: () => void; reject: (error: unknown) => void }[] = []
  let flushing = false
  function flush(): void {
    if (flushing || waiting.length === 0) return
    flushing = true
    const group = waiting
    waiting = []
    serially(() => processBatches(group.map((entry) => entry.batch)))
      .then(
        () => {
          for (const entry of group) entry.resolve()
        },
        (error: unknown) => {
          for (const entry of group) entry.reject(error)
        },
      )
      .finally(() => {
        flushing = false
        flush()
      })
  }

  function handleBatch(batch: Batch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      waiting.push({ batch, resolve, reject })
      // After the current tick: the batches kafkajs hands out together join one group.
      setImmediate(flush)
    })
  }

  /** The clock of each batch's partition, restarted from what is stored unless it followed the previous batch. */
  async function startClocks(batches: readonly Batch[], arrivedAt: number): Promise<void> {
    for (const batch of batches) {
      const partition = batch.partition
      const firstOffset = batch.messages[0]?.offset ?? '0'
      if (clockPosition.get(partition) === BigInt(firstOffset)) continue
      // Not the batch after the last one this process wrote: another process may have written
      // this partition meanwhile (a session lost in a long batch, then the partition back), so
      // nothing held for it is trusted.
      cache.forget(partition)
      const stored = await maxEventTimeBefore(deps.clickhouse, {
        topic: batch.topic,
        partition,
        offset: firstOffset,
      })
      clock.start(partition, stored.max, arrivedAt, stored.bySource)
    }
  }

  /** Validates every message: candidates for the events table, or dead letters. */
  function decideBatches(batches: readonly Batch[], arrivedAt: number) {
    const candidates: Candidate[] = []
    const deadLetters: Message[] = []
    const wallClock = { now: arrivedAt, maxSkewMs }
    let clampedRecords = 0
    for (const batch of batches) {
      for (const message of batch.messages) {
        const judged = recordTime(message.timestamp, wallClock)
        if (judged.clamped) clampedRecords++
        const outcome = decideMessage(
          message,
          { topic: batch.topic, partition: batch.partition },
          deps.limits,
          {
            pseudonymize: deps.pseudonymize,
            wallClock,
          },
        )
        if (outcome.kind === 'ok') {
          // The contract keys every event by its subject; one keyed otherwise may have copies
          // on other partitions, which only storage knows of.
          if (message.key?.toString('utf8') !== outcome.row.subject) cache.markUnkeyed(outcome.row.subject)
          const raw = message.value ?? Buffer.alloc(0)
          candidates.push({ row: outcome.row, raw, key: message.key, judgedAt: judged.time })
          continue
        }
        deadLetters.push(letter(outcome.key, outcome.raw, outcome.letter))
        logger.debug(
          { partition: batch.partition, offset: message.offset, reason: outcome.letter.reason },
          'event dead-lettered',
        )
      }
    }
    return { candidates, deadLetters, clampedRecords }
  }

  /** Marks each accepted event too late or not, in offset order, and collects the interactions it touches. */
  function observeClocks(accepted: readonly Candidate[], arrivedAt: number) {
    const touched = new Map<number, Set<string>>()
    let late = 0
    let clampedTimes = 0
    for (const { row } of accepted) {
      const observed = clock.observe(row.kafka_partition, Date.parse(row.time), arrivedAt, row.source)
      if (observed.clamped) clampedTimes++
      row.too_late = observed.tooLate ? 1 : 0
      if (observed.tooLate) late++
      const subjects = touched.get(row.kafka_partition) ?? new Set<string>()
      touched.set(row.kafka_partition, subjects)
      if (!observed.tooLate) subjects.add(row.subject)
    }
    return { touched, late, clampedTimes }
  }

  /**
   * The stored copies of these interactions, by subject: those the keyed state holds, the rest
   * read from ClickHouse in one query (and held from then on). Each list is the caller's own.
   */
  async function copiesOf(
    wanted: ReadonlyMap<number, ReadonlySet<string>>,
  ): Promise<Map<string, StoredEvent[]>> {
    const copies = new Map<string, StoredEvent[]>()
    const missing: { partition: number; subject: string }[] = []
    for (const [partition, subjects] of wanted) {
      const { held, missing: absent } = cache.lookup(partition, subjects, now())
      for (const [subject, list] of held) copies.set(subject, [...list])
      for (const subject of absent) missing.push({ partition, subject })
    }
    stateLookups.inc({ result: 'hit' }, copies.size)
    stateLookups.inc({ result: 'miss' }, missing.length)
    if (missing.length === 0) return copies
    const read = await loadCopiesBySubject(
      deps.clickhouse,
      missing.map((entry) => entry.subject),
    )
    for (const { partition, subject } of missing) {
      const list = read.get(subject) ?? []
      copies.set(subject, [...list])
      if (list.some((copy) => copy.partition !== partition)) cache.markUnkeyed(subject)
      else cache.hold(partition, subject, list, now())
    }
    return copies
  }

  /** The subjects of candidates, per partition; one seen on two partitions is never held. */
  function subjectsByPartition(candidates: readonly Candidate[]): Map<number, Set<string>> {
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
   * Writes the accepted events; a row the store refuses for its content becomes a dead letter
   * (storage_rejected) instead of holding its partition back. Returns the dead letters.
   */
  async function writeEvents(
    accepted: readonly Candidate[],
  ): Promise<{ refused: Set<Candidate>; letters: Message[] }> {
    const refusals = await writeIsolatingRefusals(accepted, (part) =>
      insertEvents(
        deps.clickhouse,
        part.map((candidate) => candidate.row),
      ),
    )
    const letters = refusals.map(({ row: candidate, error }) => {
      logger.warn(
        { partition: candidate.row.kafka_partition, offset: candidate.row.kafka_offset, err: error },
        'the store refused an event; dead-lettered',
      )
      return letter(
        candidate.key,
        candidate.raw,
        processorLetter(candidate, 'storage_rejected', [
          { path: '', message: `expected a row the store accepts, got: ${error.message.slice(0, 1000)}` },
        ]),
      )
    })
    return { refused: new Set(refusals.map((refusal) => refusal.row)), letters }
  }

  async function processBatches(batches: readonly Batch[]): Promise<void> {
    const arrivedAt = now()
    try {
      await timed(timer, 'clocks', () => startClocks(batches, arrivedAt))
      const validateStarted = performance.now()
      const { candidates, deadLetters, clampedRecords } = decideBatches(batches, arrivedAt)
      timer('validate', (performance.now() - validateStarted) / 1000)
      const invalid = deadLetters.length
      const stored = await timed(timer, 'state_read', () => copiesOf(subjectsByPartition(candidates)))
      const arrivals = sortArrivals(candidates, stored)
      for (const conflict of arrivals.conflicts) {
        deadLetters.push(letter(conflict.candidate.key, conflict.candidate.raw, conflict.letter))
      }
      const { touched, late, clampedTimes } = observeClocks(arrivals.accepted, arrivedAt)
      const started = performance.now()
      const [events] = await timed(timer, 'events_write', () =>
        Promise.all([
          writeEvents(arrivals.accepted),
          deps.producer.send(deps.topics.deadLetter, deadLetters),
        ]),
      )
      const refused = events.letters
      await deps.producer.send(deps.topics.deadLetter, refused)
      // Outcomes are decided from what the store took, and written once it took it: an event
      // it refused never counts, even after a crash between the two inserts.
      const written = arrivals.accepted.filter((candidate) => !events.refused.has(candidate))
      // Interactions with no copy stored before this batch have no outcome row anywhere yet.
      const fresh = new Set(
        written.map(({ row }) => row.subject).filter((subject) => !stored.get(subject)?.length),
      )
      for (const { row } of written) {
        const copy = asStoredCopy(row)
        stored.get(row.subject)?.push(copy)
        cache.append(copy)
      }
      const decided = await writeOutcomes(outcomeGroups(touched, arrivedAt), stored, fresh)
      for (const subject of decided.settled) cache.drop(subject)
      insertSeconds.observe((performance.now() - started) / 1000)
      for (const batch of batches) batchSizes.observe(batch.messages.length)
      // Counted once durable: a batch retried after a failure is not counted twice. Each message
      // counts under one outcome: ok, duplicate, conflict, or dead_letter (invalid or refused).
      outcomes.inc({ outcome: 'ok' }, written.length)
      outcomes.inc({ outcome: 'duplicate' }, arrivals.duplicates)
      outcomes.inc({ outcome: 'conflict' }, arrivals.conflicts.length)
      outcomes.inc({ outcome: 'dead_letter' }, invalid + refused.length)
      clamped.inc({ what: 'record_timestamp' }, clampedRecords)
      clamped.inc({ what: 'event_time' }, clampedTimes)
      tooLate.inc(late)
      for (const letter of [...deadLetters, ...refused]) {
        const reason = letter.headers?.['cpi-reject-reason']
        rejections.inc({ origin: 'processor', reason: typeof reason === 'string' ? reason : 'unknown' })
      }
      for (const batch of batches) {
        const latest = clock.maxEventTime(batch.partition)
        if (latest !== undefined) freshness.set({ partition: String(batch.partition) }, latest / 1000)
        const last = batch.messages.at(-1)?.offset ?? batch.messages[0]?.offset ?? '0'
        clockPosition.set(batch.partition, BigInt(last) + 1n)
      }
      stateBytes.set(cache.bytes)
      stateSize.set(cache.size)
    } catch (error) {
      // The retry starts each clock again from what is stored, and reads its interactions
      // again: what the failed attempt wrote is unknown.
      for (const batch of batches) {
        clockPosition.delete(batch.partition)
        cache.forget(batch.partition)
      }
      throw error
    }
  }

  type OutcomeGroup = { partition: number; watermark: number; subjects: string[] }

  /** The touched interactions of each partition, to be decided as of the partition's watermark. */
  function outcomeGroups(
    touched: ReadonlyMap<number, ReadonlySet<string>>,
    arrivedAt: number,
  ): OutcomeGroup[] {
    if (catalog.length === 0) return []
    return [...touched]
      .filter(([, subjects]) => subjects.size > 0)
      .map(([partition, subjects]) => ({
        partition,
        watermark: clock.watermark(partition, arrivedAt) as number,
        subjects: [...subjects],
      }))
  }

  /** Decides the groups' interactions from the copies in hand and writes their outcomes. */
  async function writeOutcomes(
    groups: readonly OutcomeGroup[],
    stored: ReadonlyMap<string, readonly StoredEvent[]>,
    fresh: ReadonlySet<string>,
  ): Promise<Pick<OutcomeWrite, 'settled'>> {
    if (groups.length === 0) return { settled: [] }
    const result = await recomputeOutcomesOfPartitions(deps.clickhouse, catalog, groups, stored, {
      unchanged: (row, owner) => cache.sameAsWritten(owner, row),
      previous: (row, owner) => (fresh.has(owner) ? null : cache.placement(owner, row)),
      timer,
    })
    afterOutcomes(result, 'event')
    return { settled: result.settled }
  }

  /** Keeps the schedule, the keyed state and the counters current with an outcome write. */
  function afterOutcomes(result: OutcomeWrite, trigger: 'event' | 'time'): void {
    revisits.record(result.decided)
    for (const row of result.written) cache.rememberWritten(result.owners.get(row) as string, row)
    outcomeRows.inc({ trigger }, result.written.length)
    unchangedRows.inc({ trigger }, result.decided.length - result.written.length)
    countRefusedOutcomes(result.refused)
  }

  function countRefusedOutcomes(refused: readonly Refusal<OutcomeRow>[]): void {
    for (const { row, error } of refused) {
      refusedOutcomes.inc({ cpi: row.cpi })
      logger.error(
        { cpi: row.cpi, subject: row.subject, err: error },
        'the store refused an outcome row; left out so the partition moves on',
      )
    }
  }

  type WatermarkRecord = { topic: string; partition: number; watermark: number; maxEventTime: number }

  /**
   * Time-driven recomputation: interactions whose deadline or follow-up window has passed the
   * partition's watermark, with no new event to trigger them (R1, R4, R6). Then the upkeep —
   * the coarser rollup buckets and the watermarks — on a connection of its own, while batches
   * go on (the group cycle no longer waits for it). Resolves once both are written.
   */
  async function sweep(): Promise<number> {
    const { written, records } = await serially(revisitAll)
    await upkeep(records)
    return written
  }

  /** Decides what the partitions' watermarks made due; the watermarks to record after it. */
  async function revisitAll(): Promise<{ written: number; records: WatermarkRecord[] }> {
    // A partition's schedule is loaded on its first sweep after a takeover; the 5-minute
    // refreshes (each scans the partition's outcomes while batches wait) go one per sweep.
    let refreshedOne = false
    const records: WatermarkRecord[] = []
    const groups: OutcomeGroup[] = []
    for (const partition of clock.partitionsKnown()) {
      const watermark = clock.watermark(partition, now())
      if (watermark === undefined) continue
      if (catalog.length > 0) {
        // The schedule, not a scan of `outcomes`: a sweep costs what is due, not the table size.
        const stale = !revisits.loaded(partition, now() - REVISITS_REFRESH_MS)
        if (!revisits.loaded(partition) || (stale && !refreshedOne)) {
          refreshedOne ||= revisits.loaded(partition)
          revisits.load(partition, await pendingRevisits(deps.clickhouse, partition), now())
        }
        const due = revisits.takeDue(partition, watermark)
        if (due.length > 0) groups.push({ partition, watermark, subjects: due })
      }
      watermarkGauge.set({ partition: String(partition) }, watermark / 1000)
      records.push({
        topic: deps.topics.events,
        partition,
        watermark,
        maxEventTime: clock.maxEventTime(partition) ?? watermark,
      })
    }
    const written = await timed(timer, 'revisits', () => revisitDue(groups))
    return { written, records }
  }

  // One upkeep at a time (sweeps start on a timer, and an upkeep may outlast the interval). A
  // sweep that finds one running leaves its records in the one pending slot — a later sweep's
  // replace them — and waits for the upkeep that writes them: upkeeps never queue up, and
  // watermarks are never written older than those a later sweep saw.
  let running: Promise<void> | undefined
  let pending: { records: readonly WatermarkRecord[]; done: Promise<void> } | undefined
  let background: ClickHouse | undefined

  function upkeep(records: readonly WatermarkRecord[]): Promise<void> {
    if (running === undefined) {
      running = writeUpkeep(records).finally(() => {
        running = undefined
      })
      return running
    }
    if (pending) {
      pending = { records, done: pending.done }
      return pending.done
    }
    const done = running
      .catch(() => undefined)
      .then(() => {
        const next = pending?.records ?? records
        pending = undefined
        return upkeep(next)
      })
    pending = { records, done }
    return done
  }

  /**
   * The 5-minute and hour buckets above the minutes written since the last upkeep (decision
   * 0015), then the watermarks: a reader that sees a watermark sees the buckets up to it, as
   * every minute row up to it was written before the sweep's revisits returned. On the third
   * connection, while batches go on; only partitions still owned get their watermark written.
   */
  async function writeUpkeep(records: readonly WatermarkRecord[]): Promise<void> {
    background ??= { ...deps.clickhouse, writer: deps.clickhouse.background }
    const target = background
    if (catalog.length > 0) {
      coarserSince = await timed(timer, 'coarser_rollups', () => followCoarserGrains(target, coarserSince))
    }
    const owned = records.filter((record) => clock.knows(record.partition))
    await timed(timer, 'watermarks', () => recordWatermarks(target, owned))
    for (const progress of consumer.partitionProgress()) {
      const lag = Number(BigInt(progress.highWatermark) - BigInt(progress.committedOffset))
      lagGauge.set({ partition: String(progress.partition) }, Math.max(0, lag))
    }
  }

  /** Resolves once no sweep, batch group or upkeep is in flight (before the connections close). */
  async function idle(): Promise<void> {
    await exclusive
    while (running || pending) await (pending?.done ?? running)?.catch(() => undefined)
  }

  /**
   * Decides again the interactions whose revisit came, every partition as of its own watermark,
   * with one read of what the keyed state does not hold and one insert. Returns the rows written.
   */
  async function revisitDue(groups: readonly OutcomeGroup[]): Promise<number> {
    if (groups.length === 0) return 0
    try {
      const wanted = new Map(groups.map((group) => [group.partition, new Set(group.subjects)]))
      const result = await recomputeOutcomesOfPartitions(
        deps.clickhouse,
        catalog,
        groups,
        await copiesOf(wanted),
        {
          unchanged: (row, owner) => cache.sameAsWritten(owner, row),
          previous: (row, owner) => cache.placement(owner, row),
        },
      )
      afterOutcomes(result, 'time')
      for (const subject of result.settled) cache.drop(subject)
      return result.written.length
    } catch (error) {
      for (const { partition } of groups) {
        revisits.forget(partition) // loaded again, due subjects included, at the next sweep
        cache.forget(partition)
      }
      throw error
    }
  }

  /** After a rebalance: partitions taken over start from what is stored; those given up are forgotten. */
  async function adoptPartitions(partitions: readonly number[]): Promise<void> {
    await serially(async () => {
      for (const known of clock.partitionsKnown()) {
        if (!partitions.includes(known)) {
          clock.forget(known)
          revisits.forget(known)
          cache.forget(known)
          clockPosition.delete(known)
        }
      }
      for (const partition of partitions) {
        if (clock.knows(partition)) continue
        clock.takeOver(
          partition,
          await partitionTime(deps.clickhouse, { topic: deps.topics.events, partition }),
          now(),
        )
        clockPosition.delete(partition)
      }
    })
  }

  const consumer = new BatchConsumer({
    kafka: deps.kafka,
    groupId: deps.groupId,
    topics: [deps.topics.events],
    logger,
    handleBatch,
    onAssignment: (assignment) => {
      adoptPartitions(assignment[deps.topics.events] ?? []).catch((error: unknown) =>
        logger.warn(
          { err: error },
          'could not set up the clocks of assigned partitions; the next batch does',
        ),
      )
    },
    ...(deps.consumerConfig ? { consumerConfig: deps.consumerConfig } : {}),
    ...(deps.concurrentPartitions ? { concurrentPartitions: deps.concurrentPartitions } : {}),
  })
  return {
    consumer,
    handleBatch,
    sweep,
    idle,
    clock,
    start: () => consumer.start(),
    stop: () => consumer.stop(),
  }
}
