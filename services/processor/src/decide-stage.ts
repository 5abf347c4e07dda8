import type { ClickHouse, OutcomeRow, StoredEvent } from '@cpi/clickhouse'
import type { CpiDefinition } from '@cpi/cpi-core'
import type { Logger } from '@cpi/logger'
import type { InteractionCache } from './interaction-cache.ts'
import {
  type DecidedOutcomes,
  decideOutcomes,
  type OutcomeWrite,
  type PlacementsRead,
  type PreviousPlacement,
  readPlacementsAhead,
  type StageTimer,
  writeDecided,
} from './outcome-stage.ts'
import type { PartitionClock } from './partition-clock.ts'
import type { ProcessorMetrics } from './processor-metrics.ts'
import type { RevisitSchedule } from './revisit-schedule.ts'
import type { PartitionRollupState } from './rollup-state.ts'

/** The interactions of one partition to decide, as of that partition's watermark. */
export type OutcomeGroup = { partition: number; watermark: number; subjects: string[] }

/** What the decide stage works with. */
export interface DecideState {
  clickhouse: ClickHouse
  catalog: readonly CpiDefinition[]
  cache: InteractionCache
  /** The minute rollup kept by difference; without it, touched minutes are re-aggregated from `outcomes`. */
  rollups?: PartitionRollupState
  /**
   * The write path's second lane (`onSecondLane`): placement reads and rollup writes run there
   * beside the first lane's inserts. Without it every statement runs on `clickhouse`, one by one.
   */
  beside?: ClickHouse
  revisits: RevisitSchedule
  metrics: Pick<ProcessorMetrics, 'outcomeRows' | 'unchangedRows' | 'refusedOutcomes'>
  logger: Logger
  now?: () => number
}

/** The touched interactions of each partition, to be decided as of the partition's watermark. */
export function outcomeGroups(
  touched: ReadonlyMap<number, ReadonlySet<string>>,
  clock: PartitionClock,
  catalog: readonly CpiDefinition[],
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

/**
 * The decide stage: decides the groups' interactions from the copies in hand, writes the
 * outcome rows that changed (and the rollup minutes they touch), and keeps the revisit
 * schedule, the keyed state and the counters current. An event-triggered decision passes the
 * interactions `fresh` in this group (no outcome row stored anywhere yet: no placement read).
 * Returns the interactions settled (decided until a new event comes), dropped from the state.
 */
export async function decideAndWrite(
  groups: readonly OutcomeGroup[],
  copies: ReadonlyMap<string, readonly StoredEvent[]>,
  state: DecideState,
  options: { trigger: 'event' | 'time'; fresh?: ReadonlySet<string>; timer?: StageTimer },
): Promise<OutcomeWrite> {
  return writeAndKeep(decideGroups(groups, copies, state, options), state, options)
}

/** Rows decided for a group, and where this process knows their live rows stand. */
export interface GroupDecision {
  decided: DecidedOutcomes
  previous: PreviousPlacement
}

/** Decides the groups' interactions from the copies in hand (pure but for reading the keyed state). */
export function decideGroups(
  groups: readonly OutcomeGroup[],
  copies: ReadonlyMap<string, readonly StoredEvent[]>,
  state: Pick<DecideState, 'catalog' | 'cache'>,
  options: { fresh?: ReadonlySet<string> | undefined; timer?: StageTimer | undefined },
): GroupDecision {
  const { cache } = state
  const fresh = options.fresh
  return {
    decided: decideOutcomes(state.catalog, groups, copies, {
      unchanged: (row, owner) => cache.sameAsWritten(owner, row),
      timer: options.timer,
    }),
    previous: (row, owner) => (fresh?.has(owner) ? null : cache.placement(owner, row)),
  }
}

/**
 * Reads, on the second lane, where the live rows of a decision stand that this process does not
 * know (beside the first lane's insert of the group's events). None without a second lane.
 */
export function readPlacementsBeside(
  decision: GroupDecision,
  state: Pick<DecideState, 'beside'>,
  timer?: StageTimer,
): Promise<PlacementsRead | undefined> {
  if (!state.beside) return Promise.resolve(undefined)
  return readPlacementsAhead(state.beside, decision.decided, decision.previous, timer)
}

/**
 * Writes a decision's changed rows (and the rollup minutes they touch), and keeps the revisit
 * schedule, the keyed state and the counters current. Returns the interactions settled
 * (decided until a new event comes), dropped from the state.
 */
export async function writeAndKeep(
  decision: GroupDecision,
  state: DecideState,
  options: {
    trigger: 'event' | 'time'
    placements?: PlacementsRead | undefined
    timer?: StageTimer | undefined
  },
): Promise<OutcomeWrite> {
  const { cache } = state
  const result = await writeDecided(state.clickhouse, decision.decided, {
    previous: decision.previous,
    placements: options.placements,
    timer: options.timer,
    beside: state.beside,
    ...(state.rollups ? { rollups: state.rollups, now: state.now?.() ?? Date.now() } : {}),
  })
  state.revisits.record(result.decided)
  for (const row of result.written) cache.rememberWritten(result.owners.get(row) as string, row)
  for (const subject of result.settled) cache.drop(subject)
  state.metrics.outcomeRows.inc({ trigger: options.trigger }, result.written.length)
  state.metrics.unchangedRows.inc({ trigger: options.trigger }, result.decided.length - result.written.length)
  for (const { row, error } of result.refused) countRefused(row, error, state)
  return result
}

function countRefused(row: OutcomeRow, error: Error, state: DecideState): void {
  state.metrics.refusedOutcomes.inc({ cpi: row.cpi })
  state.logger.error(
    { cpi: row.cpi, subject: row.subject, err: error },
    'the store refused an outcome row; left out so the partition moves on',
  )
}
