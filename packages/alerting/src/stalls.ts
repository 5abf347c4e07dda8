import type { AlertLinks, Condition } from './conditions.ts'
import { formatDuration, isoOrNull } from './format.ts'
import type { AlertRecord } from './lifecycle.ts'

// A partition that stops advancing holds back the watermark every CPI alert is evaluated on:
// without an alert of its own, alerting would freeze silently. Judged on the wall clock (event
// time is exactly what stopped), pure like the rest: the caller passes the clock.

/** What the processor recorded for one partition of the events topic (the `watermarks` table). */
export interface PartitionWatermark {
  topic: string
  partition: number
  watermark: number
  /** Wall time the processor last recorded the partition. */
  updatedAt: number
}

/** Since when (wall clock) a partition's watermark has stood where it stands. */
export interface PartitionProgress {
  topic: string
  partition: number
  watermark: number
  since: number
}

export const partitionKey = (partition: { topic: string; partition: number }) =>
  `${partition.topic}/${partition.partition}`

/**
 * The event time the alerter evaluates up to: the lowest watermark over the topic's partitions
 * (the slowest one bounds what is complete); undefined before any partition has one.
 */
export function alertingWatermark(
  partitions: readonly { topic: string; watermark: number }[],
  topic: string,
): number | undefined {
  const watermarks = partitions.filter((p) => p.topic === topic).map((p) => p.watermark)
  return watermarks.length === 0 ? undefined : Math.min(...watermarks)
}

/**
 * Progress after looking at the watermarks at wall time `now`. A watermark that moved (or is
 * seen for the first time) has stood since the processor recorded it, or now if that is later:
 * a processor that stopped recording stopped moving it then. One that did not move keeps its
 * `since`. Partitions no longer recorded are dropped.
 */
export function trackProgress(
  previous: ReadonlyMap<string, PartitionProgress>,
  observed: readonly PartitionWatermark[],
  now: number,
): Map<string, PartitionProgress> {
  const next = new Map<string, PartitionProgress>()
  for (const partition of observed) {
    const key = partitionKey(partition)
    const before = previous.get(key)
    const since =
      before !== undefined && before.watermark === partition.watermark
        ? before.since
        : Math.min(now, partition.updatedAt)
    next.set(key, {
      topic: partition.topic,
      partition: partition.partition,
      watermark: partition.watermark,
      since,
    })
  }
  return next
}

/**
 * Progress as the active stall alerts recorded it, so a restarted alerter keeps counting from
 * when a partition stopped instead of resolving its alert and raising it again.
 */
export function progressFromAlerts(alerts: Iterable<AlertRecord>): Map<string, PartitionProgress> {
  const progress = new Map<string, PartitionProgress>()
  for (const alert of alerts) {
    if (alert.labels.rule !== 'pipeline_stalled' || alert.state === 'resolved') continue
    const watermark = Date.parse(alert.annotations.watermark ?? '')
    const since = Date.parse(alert.annotations.stalledSince ?? '')
    const partition = Number(alert.labels.partition)
    const topic = alert.labels.topic ?? ''
    if (Number.isNaN(watermark) || Number.isNaN(since) || !Number.isInteger(partition)) continue
    progress.set(partitionKey({ topic, partition }), { topic, partition, watermark, since })
  }
  return progress
}

/**
 * One `pipeline_stalled` condition per partition, active once its watermark has stood still for
 * `stallAfterMs` of wall time. A page: every CPI alert waits for this partition.
 */
export function stallConditions(input: {
  progress: Iterable<PartitionProgress>
  /** The processor's records, for when each partition was last written. */
  observed: readonly PartitionWatermark[]
  at: number
  stallAfterMs: number
  links: AlertLinks
}): Condition[] {
  const recorded = new Map(input.observed.map((p) => [partitionKey(p), p.updatedAt]))
  return [...input.progress].map((progress) => {
    const stalledForMs = Math.max(0, input.at - progress.since)
    const recordedAt = recorded.get(partitionKey(progress)) ?? progress.since
    const silentWriter = input.at - recordedAt >= input.stallAfterMs
    return {
      rule: 'pipeline_stalled',
      labels: {
        alertname: 'PipelineStalled',
        cpi: '',
        dimension: 'partition',
        segment: String(progress.partition),
        severity: 'page',
        rule: 'pipeline_stalled',
        topic: progress.topic,
        partition: String(progress.partition),
      },
      active: stalledForMs >= input.stallAfterMs,
      value: stalledForMs,
      threshold: input.stallAfterMs,
      annotations: stallAnnotations(input, progress, stalledForMs, silentWriter ? recordedAt : null),
      detail: { rule: 'pipeline_stalled', ...progress, stalledForMs, recordedAt },
    }
  })
}

function stallAnnotations(
  input: { stallAfterMs: number; links: AlertLinks },
  progress: PartitionProgress,
  stalledForMs: number,
  /** When the processor last recorded the partition, if that is itself too long ago. */
  silentSince: number | null,
): Condition['annotations'] {
  const watermark = isoOrNull(progress.watermark) as string
  const cause =
    silentSince === null
      ? 'The processor records it, but no event time moves it: no producer sends to this partition ' +
        '(and CPI_IDLE_AFTER_MS does not advance it), or a batch of it fails again and again.'
      : `The processor has not recorded it since ${isoOrNull(silentSince)}: it is down, crash-looping ` +
        'or cannot write to ClickHouse.'
  return {
    summary:
      `Pipeline stalled: partition ${progress.partition} of ${progress.topic} has not advanced for ` +
      `${formatDuration(stalledForMs)} (threshold ${formatDuration(input.stallAfterMs)})`,
    description:
      `Its watermark stands at ${watermark}. ${cause} Every CPI alert is evaluated up to the lowest ` +
      'watermark, so none can fire or resolve past it until the partition moves again.',
    runbook: `${input.links.runbookUrl}#pipelinestalled`,
    dashboard: `${input.links.dashboardUrl.replace(/\/+$/, '')}/`,
    cpiDisplayName: 'Pipeline',
    watermark,
    stalledSince: isoOrNull(progress.since) as string,
  }
}
