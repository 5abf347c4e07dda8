import {
  type ClickHouse,
  type CountedRow,
  insertOutcomes,
  loadEventCopies,
  minutesOf,
  type OutcomePlacement,
  type OutcomeRow,
  outcomePlacements,
  refreshRollups,
  type StoredEvent,
} from '@cpi/clickhouse'
import {
  type CpiDefinition,
  type Decision,
  decideKnown,
  decideResponse,
  type InteractionEvent,
  type KnownEvents,
  knownEvents,
  type SurveyDefinition,
} from '@cpi/cpi-core'
import { firstCopies } from './event-identity.ts'
import { type Refusal, writeIsolatingRefusals } from './refused-rows.ts'
import type { PartitionRollupState, RollupChange } from './rollup-state.ts'

const iso = (time: number) => new Date(time).toISOString()

/**
 * Each stored copy parsed once: the keyed state decides an interaction again at every event and
 * revisit, and the copies it holds keep their parsed form (`decoded`) as long as it holds them.
 * A copy this process just wrote has it already (`decodeCopy`, from its validation's parse).
 */
function toInteractionEvent(event: StoredEvent): InteractionEvent {
  if (event.decoded) return event.decoded as InteractionEvent
  let parsed: unknown
  try {
    parsed = JSON.parse(event.payload)
  } catch {
    // stored events passed validation; a payload that does not parse has no data to read
  }
  return decodeCopy(event, parsed)
}

/** Keeps on a stored copy the form decisions read, from the value its payload parses to. */
export function decodeCopy(event: StoredEvent, parsed: unknown): InteractionEvent {
  const data = (parsed as { data?: unknown } | null | undefined)?.data
  // Decisions only read events: the same object serves every decision of the interaction.
  const decoded = {
    id: event.id,
    source: event.source,
    type: event.type,
    time: event.time,
    data: data && typeof data === 'object' ? (data as Record<string, unknown>) : {},
  }
  event.decoded = decoded
  return decoded
}

function row(
  definition: CpiDefinition,
  subject: string,
  decision: Decision,
  watermark: number,
  partition: number,
): OutcomeRow {
  return {
    cpi: definition.name,
    definition_version: definition.version,
    subject,
    cohort_at: iso(decision.cohortAt),
    state: decision.state,
    status: decision.status ?? '',
    // An open interaction's wait is measured at query time against the current watermark.
    latency_ms: decision.open ? null : (decision.latencyMs ?? null),
    wall_latency_ms: decision.wallLatencyMs ?? null,
    pauses: decision.pauses ?? 0,
    paused_ms: decision.pausedMs ?? null,
    open: decision.open ? 1 : 0,
    segments: decision.segments,
    revisit_at: decision.revisitAt === undefined ? null : iso(decision.revisitAt),
    watermark: iso(watermark),
    kafka_partition: partition,
    version: watermark,
  }
}

/** Every outcome of these interactions as of `watermark`, from their stored events. Pure. */
export function outcomeRows(
  catalog: readonly CpiDefinition[],
  eventsBySubject: ReadonlyMap<string, InteractionEvent[]>,
  watermark: number,
  partition: number,
): OutcomeRow[] {
  const rows: OutcomeRow[] = []
  for (const [subject, events] of eventsBySubject) {
    let known: KnownEvents | undefined
    for (const definition of catalog) {
      if (definition.lifecycle === 'draft') continue
      if (definition.shape === 'survey') {
        for (const event of events) {
          if (event.type !== definition.response.type) continue
          if (event.time > watermark) continue
          // Each response is an interaction of its own, named by its event id.
          rows.push(
            row(
              definition,
              event.id,
              decideResponse(definition as SurveyDefinition, event, watermark),
              watermark,
              partition,
            ),
          )
        }
        continue
      }
      // Ordered once for every CPI the interaction is decided for.
      known ??= knownEvents(events, watermark)
      const decision = decideKnown(definition, known, watermark)
      if (decision) rows.push(row(definition, subject, decision, watermark, partition))
    }
  }
  return rows
}

/**
 * Recomputes the outcomes of interactions of one partition as of its watermark and writes
 * them. Idempotent: the same events and watermark give the same rows, and a later watermark
 * replaces an earlier one.
 */
export async function recomputeOutcomes(
  clickhouse: ClickHouse,
  catalog: readonly CpiDefinition[],
  subjects: readonly string[],
  watermark: number,
  partition: number,
): Promise<number> {
  return (await recomputeOutcomesOfPartitions(clickhouse, catalog, [{ partition, watermark, subjects }]))
    .written.length
}

/** The stored copies of these interactions' events, by subject. */
export async function loadCopiesBySubject(
  clickhouse: ClickHouse,
  subjects: readonly string[],
): Promise<Map<string, StoredEvent[]>> {
  const bySubject = new Map<string, StoredEvent[]>()
  for (const stored of await loadEventCopies(clickhouse, subjects)) {
    const list = bySubject.get(stored.subject) ?? []
    list.push(stored)
    bySubject.set(stored.subject, list)
  }
  return bySubject
}

/** The events that count for an interaction: the first accepted copy of each identity, none too late. */
export function countedEvents(copies: readonly StoredEvent[]): InteractionEvent[] {
  return firstCopies(copies)
    .filter((copy) => !copy.tooLate)
    .map(toInteractionEvent)
}

export interface OutcomeWrite {
  /** Every row decided: those written and those left out as unchanged. */
  decided: OutcomeRow[]
  /** The rows inserted (decided, not unchanged, not refused). */
  written: OutcomeRow[]
  /** The interaction (subject) of each decided row: a survey response's row is named by its event. */
  owners: Map<OutcomeRow, string>
  /** Rows the store would not take: left out, so the partition moves on (the caller counts them). */
  refused: Refusal<OutcomeRow>[]
  /** Interactions with outcomes and none waiting for a revisit: decided until a new event comes. */
  settled: string[]
}

/** The outcome rows of each group's interactions, each group as of its own watermark. Pure. */
export function groupOutcomeRows(
  catalog: readonly CpiDefinition[],
  groups: readonly { partition: number; watermark: number; subjects: readonly string[] }[],
  bySubject: ReadonlyMap<string, readonly StoredEvent[]>,
): { rows: OutcomeRow[]; owners: Map<OutcomeRow, string>; settled: string[] } {
  const rows: OutcomeRow[] = []
  const owners = new Map<OutcomeRow, string>()
  const settled: string[] = []
  for (const group of groups) {
    for (const subject of group.subjects) {
      const events = countedEvents(bySubject.get(subject) ?? [])
      if (events.length === 0) continue
      const mine = outcomeRows(catalog, new Map([[subject, events]]), group.watermark, group.partition)
      if (mine.length > 0 && mine.every((row) => row.revisit_at === null)) settled.push(subject)
      for (const row of mine) {
        rows.push(row)
        owners.set(row, subject)
      }
    }
  }
  return { rows, owners, settled }
}

/**
 * Where a row of (cpi, subject) stands now: the cohort time (ISO) of the one live row this
 * process last wrote and what the rollup counted of it, null when none can exist (an interaction
 * with no event stored before this batch), undefined when unknown (then it is read).
 */
export type PreviousPlacement = (
  row: OutcomeRow,
  owner: string,
) => { cohortAt: string; counted: CountedRow } | null | undefined

/** Where an outcome write spends its time: decide, placement_read, outcomes_write, rollup_write. */
export type StageTimer = (stage: string, seconds: number) => void

/** Runs `work`, giving its duration to `timer` (when there is one) under `stage`. */
export async function timed<T>(
  timer: StageTimer | undefined,
  stage: string,
  work: () => Promise<T>,
): Promise<T> {
  if (!timer) return work()
  const started = performance.now()
  try {
    return await work()
  } finally {
    timer(stage, (performance.now() - started) / 1000)
  }
}

/** Rows decided for a group of partitions, before they are written. */
export interface DecidedOutcomes {
  /** Every row decided: those to write and those left out as unchanged. */
  rows: OutcomeRow[]
  /** The rows to write (`unchanged` says the others are stored already with the same content). */
  changed: OutcomeRow[]
  owners: Map<OutcomeRow, string>
  settled: string[]
}

/** Decides the groups' interactions from their copies (pure), leaving out what `unchanged` says is stored. */
export function decideOutcomes(
  catalog: readonly CpiDefinition[],
  groups: readonly { partition: number; watermark: number; subjects: readonly string[] }[],
  bySubject: ReadonlyMap<string, readonly StoredEvent[]>,
  options: {
    unchanged?: ((row: OutcomeRow, owner: string) => boolean) | undefined
    timer?: StageTimer | undefined
  } = {},
): DecidedOutcomes {
  const started = performance.now()
  const { rows, owners, settled } = groupOutcomeRows(catalog, groups, bySubject)
  const unchanged = options.unchanged
  const changed = unchanged ? rows.filter((row) => !unchanged(row, owners.get(row) as string)) : rows
  options.timer?.('decide', (performance.now() - started) / 1000)
  return { rows, changed, owners, settled }
}

/**
 * Where the live rows of some interactions stand, read ahead (beside another statement): the
 * subjects read, and the places of each (cpi, subject) found (key `cpi\u0000subject`).
 */
export interface PlacementsRead {
  subjects: ReadonlySet<string>
  places: ReadonlyMap<string, OutcomePlacement[]>
}

/**
 * Reads where the live rows of decided rows stand when `previous` does not know (one statement,
 * on the connection given: the processor's second lane, beside the insert of the group's events).
 */
export async function readPlacementsAhead(
  clickhouse: ClickHouse,
  decided: DecidedOutcomes,
  previous: PreviousPlacement,
  timer?: StageTimer,
): Promise<PlacementsRead> {
  const subjects = new Set<string>()
  for (const row of decided.changed)
    if (previous(row, decided.owners.get(row) as string) === undefined) subjects.add(row.subject)
  if (subjects.size === 0) return { subjects, places: new Map() }
  const places = await timed(timer, 'placement_read', () => outcomePlacements(clickhouse, [...subjects]))
  return { subjects, places }
}

/** What writing decided rows takes beyond the store: see `writeDecided`. */
export interface WriteOptions {
  previous?: PreviousPlacement | undefined
  /** Placements read ahead: rows of these subjects are not read again. */
  placements?: PlacementsRead | undefined
  timer?: StageTimer | undefined
  /** The minute rollup kept by difference (the processor's); without it minutes are re-aggregated. */
  rollups?: PartitionRollupState | undefined
  /**
   * The write path's second lane (`onSecondLane`): the rollup rows are written there while the
   * outcome rows are inserted on the first.
   */
  beside?: ClickHouse | undefined
  now?: number | undefined
}

/** Writes decided rows (and the rollup minutes they touch); returns what was written and refused. */
export async function writeDecided(
  clickhouse: ClickHouse,
  decided: DecidedOutcomes,
  options: WriteOptions = {},
): Promise<OutcomeWrite> {
  const { rows, owners, settled } = decided
  const { written, refused } = await writeOutcomeRows(clickhouse, decided.changed, owners, options)
  if (refused.length === 0) return { decided: rows, written, owners, refused, settled }
  const left = new Set(refused.map((refusal) => refusal.row))
  return { decided: rows.filter((row) => !left.has(row)), written, owners, refused, settled }
}

/**
 * The same for several partitions at once, each as of its own watermark: one read of the
 * interactions' events (unless the caller has them: `copies`) and one insert of their outcomes
 * for all of them (a group of batches). Rows `unchanged` says are stored already with the same
 * content are decided but not written again. The rollup minutes the write changed are written
 * again after it.
 */
export async function recomputeOutcomesOfPartitions(
  clickhouse: ClickHouse,
  catalog: readonly CpiDefinition[],
  groups: readonly { partition: number; watermark: number; subjects: readonly string[] }[],
  copies?: ReadonlyMap<string, readonly StoredEvent[]>,
  options: WriteOptions & { unchanged?: (row: OutcomeRow, owner: string) => boolean } = {},
): Promise<OutcomeWrite> {
  const bySubject =
    copies ??
    (await loadCopiesBySubject(
      clickhouse,
      groups.flatMap((group) => group.subjects),
    ))
  const decided = decideOutcomes(catalog, groups, bySubject, options)
  return writeDecided(clickhouse, decided, options)
}

const minuteOf = (iso: string) => Math.floor(Date.parse(iso) / 60_000)

/**
 * The rows to insert for these decisions: each row, and a tombstone at every other minute where
 * its (cpi, subject) still has a live row (its cohort moved: an earlier start came late, or
 * another partition wrote it). A row older than one stored (a lower watermark) is left out, as
 * the table would ignore it.
 */
async function placeRows(
  clickhouse: ClickHouse,
  rows: readonly OutcomeRow[],
  owners: ReadonlyMap<OutcomeRow, string>,
  { previous, placements, timer }: Pick<WriteOptions, 'previous' | 'placements' | 'timer'>,
): Promise<PlacedRows> {
  const known = new Map<OutcomeRow, OutcomePlacement[]>()
  const unknown: OutcomeRow[] = []
  for (const row of rows) {
    const placed = previous?.(row, owners.get(row) as string)
    if (placed === undefined) {
      if (!placements?.subjects.has(row.subject)) unknown.push(row)
    } else
      known.set(
        row,
        placed === null
          ? []
          : [{ cohortAt: placed.cohortAt, counted: placed.counted, version: row.version, deleted: false }],
      )
  }
  const stored =
    unknown.length === 0
      ? (placements?.places ?? new Map<string, OutcomePlacement[]>())
      : await timed(timer, 'placement_read', async () => {
          const read = await outcomePlacements(
            clickhouse,
            unknown.map((row) => row.subject),
          )
          for (const [key, places] of placements?.places ?? []) read.set(key, places)
          return read
        })
  const placed: OutcomeRow[] = []
  const tombstones: OutcomeRow[] = []
  const replaced = new Map<OutcomeRow, OutcomePlacement[]>()
  // Minutes to aggregate again beyond those of the rows and tombstones written: every place read
  // (a write replayed after a crash before its rollup refresh finds its old place a tombstone).
  const minutes: { cpi: string; cohort_at: string }[] = []
  for (const row of rows) {
    const places = known.get(row) ?? stored.get(`${row.cpi}\u0000${row.subject}`) ?? []
    if (!known.has(row)) for (const place of places) minutes.push({ cpi: row.cpi, cohort_at: place.cohortAt })
    const live = places.filter((place) => !place.deleted)
    if (live.some((place) => place.version > row.version)) continue
    placed.push(row)
    replaced.set(row, live)
    for (const place of live) {
      if (minuteOf(place.cohortAt) === minuteOf(row.cohort_at)) continue
      tombstones.push({
        ...row,
        cohort_at: place.cohortAt,
        state: 'excluded',
        status: '',
        latency_ms: null,
        wall_latency_ms: null,
        pauses: 0,
        paused_ms: null,
        open: 0,
        segments: {},
        revisit_at: null,
        is_deleted: 1,
      })
    }
  }
  return { rows: placed, tombstones, minutes, replaced }
}

/** Rows to write, their tombstones, the minutes read, and the live rows each replaces. */
interface PlacedRows {
  rows: OutcomeRow[]
  tombstones: OutcomeRow[]
  minutes: { cpi: string; cohort_at: string }[]
  replaced: Map<OutcomeRow, OutcomePlacement[]>
}

/**
 * Writes outcome rows with their tombstones, leaving out (and returning) those the store refuses
 * for their content, then writes the rollup of every minute they touched.
 */
async function writeOutcomeRows(
  clickhouse: ClickHouse,
  decided: readonly OutcomeRow[],
  owners: ReadonlyMap<OutcomeRow, string>,
  options: WriteOptions,
): Promise<{ written: OutcomeRow[]; refused: Refusal<OutcomeRow>[] }> {
  const { rollups } = options
  if (rollups && decided.length > 0)
    await timed(options.timer, 'rollup_repair', () =>
      rollups.prepare(clickhouse, new Set(decided.map((row) => row.kafka_partition))),
    )
  const placed = await placeRows(clickhouse, decided, owners, options)
  // Tombstones go with the rows, never after them: a crash between two inserts would leave the
  // old place counted beside the new one.
  const inserting = timed(options.timer, 'outcomes_write', () =>
    writeIsolatingRefusals([...placed.tombstones, ...placed.rows], (part) =>
      insertOutcomes(clickhouse, part),
    ),
  )
  const refused =
    rollups && options.beside
      ? await writeBeside(inserting, placed, { ...options, rollups, beside: options.beside })
      : await writeAfter(clickhouse, inserting, placed, options)
  const left = new Set(refused.map((refusal) => refusal.row))
  return {
    written: placed.rows.filter((row) => !left.has(row)),
    refused: refused.filter((refusal) => refusal.row.is_deleted !== 1),
  }
}

/** The minutes an outcome write touches: its rows', its tombstones', and every place it read. */
const touchedMinutes = ({ rows, tombstones, minutes }: PlacedRows) =>
  minutesOf([...rows, ...tombstones, ...minutes])

/**
 * The rollup written after the outcome rows: by difference when every row was taken, else the
 * touched minutes from `outcomes` (and what is held of them dropped).
 */
async function writeAfter(
  clickhouse: ClickHouse,
  inserting: Promise<Refusal<OutcomeRow>[]>,
  placed: PlacedRows,
  { rollups, timer, now }: WriteOptions,
): Promise<Refusal<OutcomeRow>[]> {
  const refused = await inserting.catch((error: unknown) => {
    // What of the insert was stored is unknown: its minutes are written from `outcomes` next.
    if (rollups) for (const minute of touchedMinutes(placed)) rollups.markDirty(minute)
    throw error
  })
  await timed(timer, 'rollup_write', () =>
    rollups && refused.length === 0
      ? rollups.write(clickhouse, rollupChanges(placed.rows, placed.replaced), now ?? Date.now())
      : refreshAfterRefusals(clickhouse, placed, rollups),
  )
  return refused
}

/**
 * The rollup written on the second lane while the outcome rows are inserted on the first,
 * counted as if every row is taken (decision 0021). Whatever failed, the touched minutes are
 * marked to be written from `outcomes` before the next count; a row refused for its content
 * has its minutes written from `outcomes` at once. A crash between the two leaves a partition
 * rollup row written within a second of the outcome rows, which the takeover repair rewrites.
 */
async function writeBeside(
  inserting: Promise<Refusal<OutcomeRow>[]>,
  placed: PlacedRows,
  options: WriteOptions & { rollups: PartitionRollupState; beside: ClickHouse },
): Promise<Refusal<OutcomeRow>[]> {
  const { rollups, beside, timer } = options
  const counting = timed(timer, 'rollup_write', () =>
    rollups.write(beside, rollupChanges(placed.rows, placed.replaced), options.now ?? Date.now()),
  )
  const [insert, count] = await Promise.allSettled([inserting, counting])
  if (insert.status === 'rejected') {
    for (const minute of touchedMinutes(placed)) rollups.markDirty(minute)
    throw insert.reason
  }
  // A failed count marked its minutes itself.
  if (count.status === 'rejected') throw count.reason
  if (insert.value.length > 0)
    await timed(timer, 'rollup_write', () => refreshAfterRefusals(beside, placed, rollups))
  return insert.value
}

/** Rows refused: the touched minutes written from `outcomes`, and what is held of them dropped. */
async function refreshAfterRefusals(
  clickhouse: ClickHouse,
  placed: PlacedRows,
  rollups: PartitionRollupState | undefined,
): Promise<void> {
  const minutes = touchedMinutes(placed)
  await refreshRollups(clickhouse, minutes)
  if (rollups) for (const minute of minutes) rollups.markDirty(minute)
}

/** Each written row as the rollup counts it, with the live rows it replaced. */
function rollupChanges(
  written: readonly OutcomeRow[],
  replaced: ReadonlyMap<OutcomeRow, OutcomePlacement[]>,
): { row: RollupChange; replaced: RollupChange[] }[] {
  return written.map((row) => ({
    row: { ...countedOf(row), cpi: row.cpi },
    replaced: (replaced.get(row) ?? []).map((place) => {
      if (!place.counted)
        throw new Error(`the live row of ${row.cpi} ${row.subject} was read without its counts`)
      return { ...place.counted, cpi: row.cpi }
    }),
  }))
}

/** What the rollup counts of an outcome row. */
const countedOf = (row: OutcomeRow): CountedRow => ({
  state: row.state,
  status: row.status,
  latency_ms: row.latency_ms,
  open: row.open,
  segments: row.segments,
  kafka_partition: row.kafka_partition,
  cohortAt: Date.parse(row.cohort_at),
  definition_version: row.definition_version,
})
