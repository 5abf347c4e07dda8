import {
  type ClickHouse,
  insertEvents,
  maxEventTimeBefore,
  onSecondLane,
  partitionTime,
} from '@cpi/clickhouse'
import type { CpiDefinition } from '@cpi/cpi-core'
import { type Batch, BatchConsumer, type BatchingProducer } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { boundedDeadLetter, type DeadLetter, type ValidationLimits } from '@cpi/schemas'
import type { Kafka, Message } from 'kafkajs'
import type { Registry } from 'prom-client'
import type { ClockPositions } from './clock-stage.ts'
import { GroupCommit, SerialRunner } from './group-commit.ts'
import { type GroupState, processGroup } from './group-cycle.ts'
import { InteractionCache } from './interaction-cache.ts'
import { loadCopiesBySubject } from './outcome-stage.ts'
import { PartitionClock } from './partition-clock.ts'
import { createProcessorMetrics } from './processor-metrics.ts'
import type { Pseudonymizer } from './pseudonymize.ts'
import { RevisitSchedule } from './revisit-schedule.ts'
import { PartitionRollupState } from './rollup-state.ts'
import { Sweeper } from './sweep-stage.ts'

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
  /**
   * Whether a group's statements that do not wait for each other run on two connections at once
   * (CPI_PROCESSOR_SECOND_LANE, default on; decision 0021).
   */
  secondLane?: boolean
}

/**
 * The processor: every message of the events topic is validated again and either written to
 * the raw `events` table or sent to the dead-letter topic with its reason, and the interactions
 * it touches are decided into `outcomes` and the rollup. Batches of several partitions are
 * written as one group (`processGroup`, stage by stage); a sweep decides what time made due
 * (`Sweeper`). A batch's offsets are committed only after ClickHouse and Kafka acknowledged
 * everything derived from it, so a crash replays the batch; rows are idempotent and dead
 * letters are deduplicated by their source position downstream. One bad message never blocks
 * its partition.
 */
export function createEventProcessor(deps: EventProcessorDependencies) {
  const state = groupState(deps)
  // One computation at a time: a group and a sweep never write the same outcome out of order.
  const runner = new SerialRunner()
  const serially = <T>(work: () => Promise<T>) => runner.run(work)
  const groups = new GroupCommit<Batch>((batches) => processGroup(batches, state), runner)
  const handleBatch = (batch: Batch) => groups.add(batch)
  const consumer = new BatchConsumer({
    kafka: deps.kafka,
    groupId: deps.groupId,
    topics: [deps.topics.events],
    logger: state.logger,
    handleBatch,
    onAssignment: (assignment) => {
      serially(() => adoptPartitions(assignment[deps.topics.events] ?? [], state, deps.topics.events)).catch(
        (error: unknown) =>
          state.logger.warn(
            { err: error },
            'could not set up the clocks of assigned partitions; the next batch does',
          ),
      )
    },
    ...(deps.consumerConfig ? { consumerConfig: deps.consumerConfig } : {}),
    ...(deps.concurrentPartitions ? { concurrentPartitions: deps.concurrentPartitions } : {}),
  })
  const sweeper = new Sweeper({
    ...state,
    topic: deps.topics.events,
    timer: state.metrics.timer,
    serially,
    progress: () => consumer.partitionProgress(),
  })
  return {
    consumer,
    handleBatch,
    /** Decides what time made due, then writes the upkeep (coarser buckets, watermarks). */
    sweep: () => sweeper.sweep(),
    /** Resolves once no sweep, batch group or upkeep is in flight (before the connections close). */
    idle: async () => {
      await runner.idle()
      await sweeper.idle()
    },
    clock: state.clock,
    start: () => consumer.start(),
    stop: () => consumer.stop(),
  }
}

/** The state a processor keeps across groups and sweeps, and what its stages are given. */
function groupState(deps: EventProcessorDependencies): GroupState & { revisits: RevisitSchedule } {
  const maxSkewMs = deps.time?.maxClockSkewMs ?? 60_000
  const maxRawBytes = deps.deadLetterMaxRawBytes ?? 256 * 1024
  const logger = deps.logger.child({ component: 'processor' })
  return {
    clickhouse: deps.clickhouse,
    ...(deps.secondLane === false ? {} : { beside: onSecondLane(deps.clickhouse) }),
    catalog: deps.catalog ?? [],
    logger,
    metrics: createProcessorMetrics(deps.registry),
    clock: new PartitionClock({
      idleAfterMs: deps.time?.idleAfterMs ?? 5000,
      allowedLatenessMs: deps.time?.allowedLatenessMs ?? 8 * 86_400_000,
      maxSkewMs,
    }),
    positions: new Map() as ClockPositions,
    // The keyed state: the stored copies of the interactions in work, per owned partition (decision 0014).
    cache: new InteractionCache({ maxBytes: deps.stateMaxBytes ?? 64 * 1024 * 1024 }),
    // The minute rollup per owned partition, kept by difference (decision 0020).
    rollups: new PartitionRollupState(),
    // Interactions waiting for a revisit, per owned partition; reloaded from ClickHouse every 5 minutes.
    revisits: new RevisitSchedule(),
    producer: deps.producer,
    deadLetterTopic: deps.topics.deadLetter,
    validate: {
      limits: deps.limits,
      pseudonymize: deps.pseudonymize,
      maxSkewMs,
      letter: (key, raw, letter) => letterMessage(key, raw, letter, maxRawBytes),
      logger,
    },
    load: (subjects) => loadCopiesBySubject(deps.clickhouse, subjects),
    insertEvents: (rows) => insertEvents(deps.clickhouse, rows),
    storedTime: (position) => maxEventTimeBefore(deps.clickhouse, position),
    now: deps.now ?? Date.now,
  }
}

/** After a rebalance: partitions taken over start from what is stored; those given up are forgotten. */
async function adoptPartitions(
  partitions: readonly number[],
  state: GroupState & { revisits: RevisitSchedule },
  topic: string,
): Promise<void> {
  const { clock, revisits, cache, positions } = state
  for (const known of clock.partitionsKnown()) {
    if (partitions.includes(known)) continue
    clock.forget(known)
    revisits.forget(known)
    cache.forget(known)
    state.rollups.forget(known)
    positions.delete(known)
  }
  for (const partition of partitions) {
    if (clock.knows(partition)) continue
    clock.takeOver(partition, await partitionTime(state.clickhouse, { topic, partition }), state.now())
    positions.delete(partition)
  }
}
