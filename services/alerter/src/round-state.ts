import type {
  AlertLinks,
  AlertPolicy,
  AlertRecord,
  BreachCount,
  BreachPolicy,
  BreachWatchedCpi,
  PartitionProgress,
  PartitionWatermark,
  Silence,
  Transition,
} from '@cpi/alerting'
import type { StoredAlert } from '@cpi/clickhouse'
import type { Logger } from '@cpi/logger'
import type { CountRow, RuleSet } from './evaluation.ts'

// What an alerter round works on: the state kept between rounds, the plan a round works out on
// copies of it, and the context — rules, settings, and the reads and writes of the stores as
// functions (alerter-service.ts wires ClickHouse; the stages' tests pass their own).

/** A `pipeline_stalled` alert (stamped with the wall clock). */
export const isStall = (alert: AlertRecord) => alert.labels.rule === 'pipeline_stalled'
/** An `about_to_breach` alert (stamped with the wall clock). */
export const isBreach = (alert: AlertRecord) => alert.labels.rule === 'about_to_breach'

/** What the alerter knows between rounds; changed only after a round is recorded. */
export interface State {
  alerts: Map<string, AlertRecord>
  through: number | undefined
  progress: Map<string, PartitionProgress>
  /** Firing alerts whose firing was silenced: told once their silences end. */
  unnotified: Set<string>
  watermark: number | undefined
}

/** What one round would change, worked out on copies. */
export interface Plan {
  alerts: Map<string, AlertRecord>
  transitions: Transition[]
  progress: Map<string, PartitionProgress>
  through: number | undefined
  /** The last minute step evaluated, when the round walked any. */
  lastStep: number | undefined
  watermark: number | undefined
}

/** Everything a round works with: what it evaluates, with which settings, and the stores it reads and writes. */
export interface Context {
  /** The topic whose partitions' lowest watermark the CPI rules are evaluated up to. */
  eventsTopic: string
  rules: readonly RuleSet[]
  policy: AlertPolicy
  links: AlertLinks
  /** How far before the watermark the first round (no checkpoint yet) starts walking. */
  lookbackMs: number
  /** How long a partition's watermark may stand still before its stall alert fires. */
  stallAfterMs: number
  /**
   * The latency CPIs the "about to breach" rule watches, how far back their interactions may
   * start, and the rule's policy (off while `withinMs` is 0).
   */
  breach: { cpis: readonly BreachWatchedCpi[]; lookBackMs: number; policy: BreachPolicy }
  /** The receivers' names, recorded on every notification. */
  receivers: readonly string[]
  logger: Logger
  /** The processor's latest recorded watermark per partition, every topic. */
  watermarks: () => Promise<readonly PartitionWatermark[]>
  /** A CPI's minute counts per segment (and `all`) in [from, to]. */
  minuteCounts: (query: { cpi: string; from: number; to: number }) => Promise<readonly CountRow[]>
  /** Each CPI's latest outcome before `before`. */
  lastOutcomeTimes: (before: number) => Promise<ReadonlyMap<string, number>>
  /** The breach queue's counts of open interactions due within `withinMs`, per CPI and segment. */
  breachCounts: (query: {
    cpis: readonly string[]
    withinMs: number
    lookBackMs: number
  }) => Promise<readonly BreachCount[]>
  /** The silences in force at `at`. */
  silences: (at: number) => Promise<readonly Silence[]>
  /** Records transitions in `alerts`: the record, and the outbox of their notifications. */
  insertAlerts: (rows: readonly StoredAlert[]) => Promise<void>
  /** Records the last minute step evaluated. */
  writeCheckpoint: (through: number) => Promise<void>
}

/** A round's plan before any stage: the state's alerts copied, evaluating up to `watermark`. */
export function startPlan(state: State, watermark: number | undefined): Plan {
  return {
    alerts: new Map(state.alerts),
    transitions: [],
    progress: state.progress,
    through: state.through,
    lastStep: undefined,
    watermark,
  }
}
