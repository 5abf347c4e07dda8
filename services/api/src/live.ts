import { alertingWatermark, isSilenced } from '@cpi/alerting'
import {
  type BeyondHorizon,
  type ClickHouse,
  countEventsBeyondHorizon,
  listAlerts,
  listSilences,
  type PartitionFreshness,
  queryCpiWindows,
  queryWatermarks,
  type StoredAlert,
} from '@cpi/clickhouse'
import type { CpiDefinition } from '@cpi/cpi-core'
import type { Logger } from '@cpi/logger'
import { type CpiSummary, summarize } from './summaries.ts'

export interface AlertView {
  fingerprint: string
  labels: Record<string, string>
  annotations: Record<string, string>
  state: StoredAlert['state']
  activeSince: string
  firedAt: string | null
  resolvedAt: string | null
  value: number
  threshold: number
  silenced: boolean
  silencedBy: string[]
}

export interface Freshness {
  now: string
  watermark: string | null
  /** The lowest watermark over the events topic's partitions: the event time alerts are evaluated up to. */
  alertingWatermark: string | null
  freshnessMs: number | null
  partitions: {
    topic: string
    partition: number
    watermark: string
    maxEventTime: string
    updatedAt: string
  }[]
  /** Partitions whose PipelineStalled alert fires: the watermark they stand at, since when (wall clock). */
  stalled: { topic: string; partition: number; watermark: string; since: string }[]
  consumerLag: number | null
  /**
   * Events of the events topic stored beyond the revision horizon: kept, left out of the CPIs
   * until `cpi recompute --include-late` brings them in. `latestAt`: when the newest was stored.
   */
  beyondHorizon: { events: number; latestAt: string | null }
}

export interface Snapshot {
  cpis: CpiSummary[]
  alerts: AlertView[]
  freshness: Freshness
}

export type StreamEvent =
  | { event: 'cpi'; data: CpiSummary }
  | { event: 'alert'; data: AlertView }
  | { event: 'freshness'; data: Freshness }

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
const DAY = 86_400_000
const SPARKLINE_WINDOWS = 24
/** Lag and the count beyond the horizon change slowly and cost more: read at most this often. */
const SLOW_READS_MS = 5000

export function alertView(alert: StoredAlert, silencedBy: string[]): AlertView {
  return {
    fingerprint: alert.fingerprint,
    labels: alert.labels,
    annotations: alert.annotations,
    state: alert.state,
    activeSince: new Date(alert.activeSince).toISOString(),
    firedAt: iso(alert.firedAt),
    resolvedAt: iso(alert.resolvedAt),
    value: alert.value,
    threshold: alert.threshold,
    silenced: silencedBy.length > 0,
    silencedBy,
  }
}

/** The CPIs that name `name` among their leading indicators. */
export const laggingOf = (catalog: readonly CpiDefinition[], name: string): string[] =>
  catalog
    .filter((definition) => definition.leadingIndicators.includes(name))
    .map((definition) => definition.name)

/** What `createLiveState` takes. */
export interface LiveStateOptions {
  clickhouse: ClickHouse
  catalog: readonly CpiDefinition[]
  logger: Logger
  /** The events topic: the lowest watermark of its partitions is the one alerts are evaluated on. */
  eventsTopic: string
  /** Total consumer lag of the processor group, when Kafka is reachable from this process. */
  consumerLag?: () => Promise<number | null>
  now?: () => number
}

/**
 * The reads behind the catalog endpoint and the live stream. One refresh is shared by every
 * stream client; `refresh` diffs against the previous one and hands out only what changed.
 */
export function createLiveState(options: LiveStateOptions) {
  const { clickhouse, catalog } = options
  const now = options.now ?? Date.now
  let last: Snapshot | undefined
  let lag: { value: number | null; at: number } = { value: null, at: 0 }
  const beyondHorizon = sharedBeyondHorizonCount({ ...options, now })

  async function freshness(): Promise<Freshness> {
    const [partitions, stalled, late] = await Promise.all([
      queryWatermarks(clickhouse),
      // As the alerter judged them: the dashboard says what paged.
      listAlerts(clickhouse, { states: ['firing'], alertname: 'PipelineStalled' }),
      beyondHorizon(),
    ])
    const at = now()
    if (options.consumerLag && at - lag.at >= SLOW_READS_MS) {
      lag = { value: await options.consumerLag().catch(() => null), at }
    }
    return freshnessOf({
      at,
      partitions,
      stalled,
      late,
      consumerLag: lag.value,
      eventsTopic: options.eventsTopic,
    })
  }

  /** Active alerts and those resolved in the last day (of event time), silences applied now. */
  async function alerts(filter: Parameters<typeof listAlerts>[1] = {}): Promise<AlertView[]> {
    const at = now()
    const [stored, silences] = await Promise.all([
      listAlerts(clickhouse, filter),
      listSilences(clickhouse, at),
    ])
    return stored.map((alert) => alertView(alert, isSilenced(alert.labels, silences, at)))
  }

  /** The event time the CPIs stand at: the latest watermark, whole seconds; the wall clock before any. */
  function asOfFrom(fresh: Freshness): number {
    const watermark = fresh.watermark === null ? now() : Date.parse(fresh.watermark)
    return Math.floor(watermark / 1000) * 1000
  }

  async function snapshot(windowMs = 3_600_000): Promise<Snapshot & { asOf: number }> {
    const fresh = await freshness()
    const alertList = await alerts({ states: ['pending', 'firing'], resolvedSince: asOfFrom(fresh) - DAY })
    const asOf = asOfFrom(fresh)
    const cpis = await summaries({ clickhouse, catalog, asOf, windowMs, alerts: alertList })
    return { asOf, cpis, alerts: alertList, freshness: fresh }
  }

  /** `count` consecutive windows per CPI ending at the watermark (whole seconds). */
  async function windows(windowMs: number, count: number) {
    const asOf = asOfFrom(await freshness())
    return {
      asOf,
      byCpi: await queryCpiWindows(clickhouse, { to: asOf, stepSeconds: windowMs / 1000, windows: count }),
    }
  }

  return {
    freshness,
    alerts,
    snapshot,
    windows,
    /** The latest shared snapshot (the default one-hour window), if one was taken. */
    latest: () => last,
    /** Takes a new snapshot and returns what changed since the previous one. */
    async refresh(): Promise<StreamEvent[]> {
      const next = await snapshot()
      const previous = last
      last = next
      return changesBetween(previous, next)
    },
  }
}

/** Every CPI's summary over `windowMs` at `asOf`, with its sparkline and its firing alerts. */
async function summaries(read: {
  clickhouse: ClickHouse
  catalog: readonly CpiDefinition[]
  asOf: number
  windowMs: number
  alerts: readonly AlertView[]
}): Promise<CpiSummary[]> {
  const { catalog, asOf, windowMs } = read
  const windows = await queryCpiWindows(read.clickhouse, {
    to: asOf,
    stepSeconds: windowMs / 1000,
    windows: SPARKLINE_WINDOWS,
  })
  return catalog.map((definition) => {
    const firing = read.alerts.filter((a) => a.state === 'firing' && a.labels.cpi === definition.name)
    return summarize(definition, windows.get(definition.name) ?? [], {
      asOf,
      windowMs,
      count: SPARKLINE_WINDOWS,
      firing: firing.length,
      pageFiring: firing.some((a) => a.labels.severity === 'page' && !a.silenced),
      lagging: laggingOf(catalog, definition.name),
    })
  })
}

/**
 * The count of events beyond the revision horizon, a scan of `events` (its too_late column): one
 * at a time, shared by every caller for SLOW_READS_MS. A failed count keeps the last one
 * (logged): freshness is never lost to it.
 */
function sharedBeyondHorizonCount(options: {
  clickhouse: ClickHouse
  eventsTopic: string
  logger: Logger
  now: () => number
}): () => Promise<BeyondHorizon> {
  let beyond: { value: BeyondHorizon; at: number } | undefined
  let counting: Promise<BeyondHorizon> | undefined
  return () => {
    if (beyond && options.now() - beyond.at < SLOW_READS_MS) return Promise.resolve(beyond.value)
    counting ??= countEventsBeyondHorizon(options.clickhouse, { kafkaTopic: options.eventsTopic })
      .then(
        (value) => {
          beyond = { value, at: options.now() }
          return value
        },
        (error: unknown) => {
          options.logger.warn(
            { err: error },
            'could not count the events beyond the horizon; showing the last count',
          )
          return beyond?.value ?? { events: 0, latestAt: null }
        },
      )
      .finally(() => {
        counting = undefined
      })
    return counting
  }
}

/** The freshness view at `at` (wall clock) from the partitions' watermarks and what else was read. */
function freshnessOf(read: {
  at: number
  partitions: PartitionFreshness[]
  stalled: StoredAlert[]
  late: BeyondHorizon
  consumerLag: number | null
  eventsTopic: string
}): Freshness {
  const { at, partitions } = read
  const latestEvent = partitions.length === 0 ? null : Math.max(...partitions.map((p) => p.maxEventTime))
  const watermark = partitions.length === 0 ? null : Math.max(...partitions.map((p) => p.watermark))
  return {
    now: new Date(at).toISOString(),
    watermark: iso(watermark),
    alertingWatermark: iso(alertingWatermark(partitions, read.eventsTopic) ?? null),
    freshnessMs: latestEvent === null ? null : Math.max(0, at - latestEvent),
    partitions: partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      watermark: new Date(p.watermark).toISOString(),
      maxEventTime: new Date(p.maxEventTime).toISOString(),
      updatedAt: new Date(p.updatedAt).toISOString(),
    })),
    stalled: read.stalled
      .map((alert) => ({
        topic: alert.labels.topic ?? '',
        partition: Number(alert.labels.partition),
        watermark: alert.annotations.watermark ?? '',
        since: alert.annotations.stalledSince ?? '',
      }))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
    consumerLag: read.consumerLag,
    beyondHorizon: { events: read.late.events, latestAt: iso(read.late.latestAt) },
  }
}

/** What changed from `previous` to `next`: freshness always, then the CPIs and alerts that differ. */
function changesBetween(previous: Snapshot | undefined, next: Snapshot): StreamEvent[] {
  const changes: StreamEvent[] = [{ event: 'freshness', data: next.freshness }]
  if (!previous) return changes
  const before = new Map(previous.cpis.map((cpi) => [cpi.name, JSON.stringify(cpi)]))
  for (const cpi of next.cpis)
    if (before.get(cpi.name) !== JSON.stringify(cpi)) changes.push({ event: 'cpi', data: cpi })
  const alertsBefore = new Map(previous.alerts.map((alert) => [alert.fingerprint, JSON.stringify(alert)]))
  for (const alert of next.alerts)
    if (alertsBefore.get(alert.fingerprint) !== JSON.stringify(alert))
      changes.push({ event: 'alert', data: alert })
  return changes
}

export type LiveState = ReturnType<typeof createLiveState>
