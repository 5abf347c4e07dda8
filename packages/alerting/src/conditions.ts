import {
  type AlertingLevel,
  type BurnTier,
  burnRate,
  type Counts,
  errorRate,
  formatFactor,
  formatPercent,
  type Severity,
} from './burn-tiers.ts'
import { formatCount, formatDuration } from './format.ts'
import type { MinuteSeries, Segment } from './minute-series.ts'

export interface AlertPolicy {
  /** Fewer known outcomes than this in a window: the window cannot alert (low traffic). */
  minEvents: number
  /** How long a condition stays active before its alert fires. */
  pendingForMs: number
  /** How many previous weeks make the baseline. */
  baselineWeeks: number
  /** Absolute drop of the ratio below the baseline that alerts (0.1 = 10 points). */
  baselineDrop: number
  /** The window the current ratio and each previous week's ratio cover. */
  baselineWindowMs: number
  /** Silence longer than this on a CPI that had data alerts. */
  noDataAfterMs: number
}

export const defaultAlertPolicy: Readonly<AlertPolicy> = Object.freeze({
  minEvents: 20,
  pendingForMs: 120_000,
  baselineWeeks: 4,
  baselineDrop: 0.1,
  baselineWindowMs: 3_600_000,
  noDataAfterMs: 3_600_000,
})

/**
 * The CPI rules, `about_to_breach` (breaches.ts): open interactions whose deadline comes soon,
 * and `pipeline_stalled` (stalls.ts): a partition that stopped advancing.
 */
export type Rule = 'burn_rate' | 'baseline_drop' | 'no_data' | 'about_to_breach' | 'pipeline_stalled'
export type AlertName =
  | 'CpiBurnRate'
  | 'CpiBaselineDrop'
  | 'CpiNoData'
  | 'CpiBreachImminent'
  | 'PipelineStalled'

const alertNames: Record<Rule, AlertName> = {
  burn_rate: 'CpiBurnRate',
  baseline_drop: 'CpiBaselineDrop',
  no_data: 'CpiNoData',
  about_to_breach: 'CpiBreachImminent',
  pipeline_stalled: 'PipelineStalled',
}

export type AlertLabels = {
  alertname: AlertName
  /** Empty for pipeline_stalled, which is about no CPI. */
  cpi: string
  dimension: string
  segment: string
  severity: Severity
  rule: Rule
  /** A rule's own labels: `topic` and `partition` of pipeline_stalled. */
  [label: string]: string
}

export type AlertAnnotations = {
  summary: string
  description: string
  runbook: string
  dashboard: string
  /** The CPI's display name, for notification titles. */
  cpiDisplayName: string
  /** A rule's own annotations: `watermark` and `stalledSince` of pipeline_stalled. */
  [annotation: string]: string
}

export interface AlertLinks {
  dashboardUrl: string
  runbookUrl: string
}

/** What one window of one tier measured. */
export interface WindowMeasurement extends Counts {
  lengthMs: number
  burnRate: number
}

export interface TierMeasurement {
  factor: number
  long: WindowMeasurement
  short: WindowMeasurement
  /** Both windows hold at least `minEvents` known outcomes. */
  enoughEvents: boolean
  /** Both windows burn at least `factor`, with enough events. */
  met: boolean
}

export type ConditionDetail =
  | { rule: 'burn_rate'; tiers: TierMeasurement[] }
  | {
      rule: 'baseline_drop'
      current: Counts
      currentRatio: number | null
      /** Pooled ratio of the qualifying previous weeks. */
      baselineRatio: number | null
      weeksUsed: number
      /** baselineRatio − currentRatio when both are known. */
      drop: number | null
      /** Why the rule could not compare, or null when it did. */
      skipped: string | null
    }
  | { rule: 'no_data'; hadData: boolean; lastDataAt: number | null; silentForMs: number | null }
  | {
      rule: 'about_to_breach'
      /** Open interactions whose deadline comes within `withinMs` of their partition's watermark. */
      interactions: number
      withinMs: number
      /** The segment values with the most of them, most first: [dimension, value, count]. */
      topSegments: [string, string, number][]
    }
  | {
      rule: 'pipeline_stalled'
      topic: string
      partition: number
      watermark: number
      /** Wall time the watermark has stood at `watermark` since. */
      since: number
      stalledForMs: number
      /** Wall time the processor last recorded the partition. */
      recordedAt: number
    }

export interface Condition {
  rule: Rule
  labels: AlertLabels
  active: boolean
  /** burn_rate: the long-window burn rate; baseline_drop: the current ratio; no_data: ms since the last data (Infinity when none is known); pipeline_stalled: ms the watermark stood still. */
  value: number
  /** burn_rate: the tier's factor; baseline_drop: the ratio it must fall below; no_data: noDataAfterMs; pipeline_stalled: the stall threshold. */
  threshold: number
  annotations: AlertAnnotations
  detail: ConditionDetail
}

export interface CpiUnderEvaluation {
  name: string
  displayName: string
  target: number
  /** From burnTiers(objective, alerting). */
  tiers: readonly BurnTier[]
  alerting: AlertingLevel
}

export interface BaselineCounts {
  /** Counts over the `baselineWindowMs` ending at `at`. */
  current: Counts
  /** Counts over the same window 1, 2, … weeks earlier, most recent first. */
  previousWeeks: readonly Counts[]
}

export interface EvaluationInput {
  cpi: CpiUnderEvaluation
  segment: Segment
  series: MinuteSeries
  /** Evaluation time, epoch ms at a minute boundary: windows end here (exclusive). */
  at: number
  policy: AlertPolicy
  links: AlertLinks
  baseline?: BaselineCounts
  /** Only for the `all` segment: when the CPI last had data, null when not within the lookback. */
  lastDataAt?: number | null
  /** Only for the `all` segment: whether the CPI ever had data (a new CPI does not alert). */
  hadData?: boolean
}

// Floating-point tolerance: a burn rate exactly at the factor must fire even when the division
// lands a hair below it (0.6 / (1 − 0.9) = 5.999999999999999 on some inputs).
const TOLERANCE = 1e-9

/** Every rule's condition at one instant, active or not, so the lifecycle can resolve. */
export function evaluate(input: EvaluationInput): Condition[] {
  if (input.cpi.alerting === 'none') return []
  const conditions: Condition[] = []
  const severities = [...new Set(input.cpi.tiers.map((tier) => tier.severity))]
  for (const severity of severities) conditions.push(burnRateCondition(input, severity))
  conditions.push(baselineCondition(input))
  if (isAllSegment(input.segment)) conditions.push(noDataCondition(input))
  return conditions
}

function isAllSegment(segment: Segment): boolean {
  return segment.dimension === 'all' && segment.value === 'all'
}

function labelsFor(input: EvaluationInput, rule: Rule, severity: Severity): AlertLabels {
  return {
    alertname: alertNames[rule],
    cpi: input.cpi.name,
    dimension: input.segment.dimension,
    segment: input.segment.value,
    severity,
    rule,
  }
}

/** `Fast quote (channel=web)`, or `Fast quote` for the whole CPI. */
function subject(input: EvaluationInput): string {
  return isAllSegment(input.segment)
    ? input.cpi.displayName
    : `${input.cpi.displayName} (${input.segment.dimension}=${input.segment.value})`
}

function annotationsFor(
  input: EvaluationInput,
  rule: Rule,
  summary: string,
  description: string,
): AlertAnnotations {
  const dashboard = input.links.dashboardUrl.replace(/\/+$/, '')
  const query = [
    `cpi=${encodeURIComponent(input.cpi.name)}`,
    `by=${encodeURIComponent(input.segment.dimension)}`,
    `segment=${encodeURIComponent(input.segment.value)}`,
  ].join('&')
  return {
    summary,
    description,
    runbook: `${input.links.runbookUrl}#${alertNames[rule].toLowerCase()}`,
    dashboard: `${dashboard}/?${query}`,
    cpiDisplayName: input.cpi.displayName,
  }
}

function measure(input: EvaluationInput, tier: BurnTier): TierMeasurement {
  const window = (lengthMs: number): WindowMeasurement => {
    const counts = input.series.window(input.at, lengthMs)
    return { ...counts, lengthMs, burnRate: burnRate(counts, input.cpi.target) }
  }
  const long = window(tier.longMs)
  const short = window(tier.shortMs)
  const enoughEvents = long.total >= input.policy.minEvents && short.total >= input.policy.minEvents
  const reaches = (rate: number) => rate >= tier.factor * (1 - TOLERANCE)
  return {
    factor: tier.factor,
    long,
    short,
    enoughEvents,
    met: enoughEvents && reaches(long.burnRate) && reaches(short.burnRate),
  }
}

function burnRateCondition(input: EvaluationInput, severity: Severity): Condition {
  const tiers = input.cpi.tiers
    .filter((tier) => tier.severity === severity)
    .sort((a, b) => b.factor - a.factor)
  const measurements = tiers.map((tier) => measure(input, tier))
  // The fastest-burning tier that is met, else the tier whose long window burns hardest.
  let shown = measurements.find((measurement) => measurement.met)
  const active = shown !== undefined
  shown ??= measurements.reduce((best, measurement) =>
    measurement.long.burnRate > best.long.burnRate ? measurement : best,
  )
  const shownTier = tiers[measurements.indexOf(shown)] as BurnTier
  const who = subject(input)
  const summary =
    `${who} burns its error budget ${formatFactor(shown.long.burnRate)} ` +
    `(${severity} threshold ${formatFactor(shown.factor)}) ` +
    `over ${formatDuration(shown.long.lengthMs)} and ${formatDuration(shown.short.lengthMs)}`
  const windowText = (window: WindowMeasurement) =>
    `${formatCount(window.total - window.good)} of ${formatCount(window.total)} outcomes missed over the last ` +
    `${formatDuration(window.lengthMs)} (${formatPercent(errorRate(window))})`
  const lowTraffic = shown.enoughEvents
    ? ''
    : ` Fewer than ${input.policy.minEvents} outcomes in a window: too little traffic to alert.`
  const description =
    `${windowText(shown.long)}; ${windowText(shown.short)}. ` +
    `The ${formatFactor(shown.factor)} tier fires at an error rate of ${formatPercent(shownTier.errorRateThreshold)} ` +
    `in both windows (objective ${formatPercent(input.cpi.target)}) and has then burnt ` +
    `${formatPercent(shownTier.budgetShare)} of the error budget.${lowTraffic}`
  return {
    rule: 'burn_rate',
    labels: labelsFor(input, 'burn_rate', severity),
    active,
    value: shown.long.burnRate,
    threshold: shown.factor,
    annotations: annotationsFor(input, 'burn_rate', summary, description),
    detail: { rule: 'burn_rate', tiers: measurements },
  }
}

function baselineCondition(input: EvaluationInput): Condition {
  const { policy } = input
  const who = subject(input)
  const windowText = formatDuration(policy.baselineWindowMs)
  const current = input.baseline?.current ?? { good: 0, total: 0 }
  const currentRatio = current.total > 0 ? current.good / current.total : null
  const weeks = (input.baseline?.previousWeeks ?? [])
    .slice(0, policy.baselineWeeks)
    .filter((week) => week.total >= policy.minEvents)
  const pooled = weeks.reduce(
    (sum, week) => ({ good: sum.good + week.good, total: sum.total + week.total }),
    {
      good: 0,
      total: 0,
    },
  )
  const baselineRatio = pooled.total > 0 ? pooled.good / pooled.total : null

  let skipped: string | null = null
  if (input.baseline === undefined) skipped = 'no baseline counts were given'
  else if (current.total < policy.minEvents)
    skipped = `fewer than ${policy.minEvents} outcomes in the last ${windowText}`
  else if (weeks.length === 0)
    skipped = `no previous week has ${policy.minEvents} outcomes or more in the same ${windowText}`

  const drop = currentRatio !== null && baselineRatio !== null ? baselineRatio - currentRatio : null
  const active = skipped === null && drop !== null && drop > policy.baselineDrop + TOLERANCE
  const threshold = baselineRatio === null ? 0 : baselineRatio - policy.baselineDrop
  const points = (ratio: number) => `${Number((ratio * 100).toFixed(1))} points`

  let summary: string
  let description: string
  if (skipped !== null || currentRatio === null || baselineRatio === null || drop === null) {
    summary = `${who}: no baseline comparison (${skipped ?? 'no data'})`
    description = `The baseline rule compares the last ${windowText} with the same hour of the previous ${policy.baselineWeeks} weeks; it was skipped: ${skipped ?? 'no data'}.`
  } else {
    const direction = drop >= 0 ? `${points(drop)} below` : `${points(-drop)} above`
    summary =
      `${who} is at ${formatPercent(currentRatio)} over the last ${windowText}, ${direction} ` +
      `its usual ${formatPercent(baselineRatio)} for this hour (threshold ${points(policy.baselineDrop)})`
    description =
      `${formatCount(current.good)} of ${formatCount(current.total)} outcomes were good over the last ${windowText}; ` +
      `the same hour of ${weeks.length} previous week${weeks.length === 1 ? '' : 's'} had ` +
      `${formatCount(pooled.good)} of ${formatCount(pooled.total)} (${formatPercent(baselineRatio)}).`
  }
  return {
    rule: 'baseline_drop',
    labels: labelsFor(input, 'baseline_drop', 'ticket'),
    active,
    value: currentRatio ?? 0,
    threshold,
    annotations: annotationsFor(input, 'baseline_drop', summary, description),
    detail: {
      rule: 'baseline_drop',
      current: { good: current.good, total: current.total },
      currentRatio,
      baselineRatio,
      weeksUsed: weeks.length,
      drop,
      skipped,
    },
  }
}

function noDataCondition(input: EvaluationInput): Condition {
  const hadData = input.hadData ?? false
  const lastDataAt = input.lastDataAt ?? null
  const silentForMs = lastDataAt === null ? null : input.at - lastDataAt
  const limit = input.policy.noDataAfterMs
  const active = hadData && (silentForMs === null || silentForMs > limit)
  const who = subject(input)
  const silence = silentForMs === null ? 'within the lookback' : `for ${formatDuration(silentForMs)}`
  const summary = hadData
    ? `${who} has received no outcomes ${silence} (threshold ${formatDuration(limit)})`
    : `${who} has never received data`
  const description = hadData
    ? `No known outcome ${silentForMs === null ? 'in the period looked at' : `since ${new Date(lastDataAt as number).toISOString()}`}: ` +
      'check the producers, the ingest service and the processor before trusting this CPI.'
    : 'A CPI that never had data does not alert on silence.'
  return {
    rule: 'no_data',
    labels: labelsFor(input, 'no_data', 'ticket'),
    active,
    value: silentForMs ?? Number.POSITIVE_INFINITY,
    threshold: limit,
    annotations: annotationsFor(input, 'no_data', summary, description),
    detail: { rule: 'no_data', hadData, lastDataAt, silentForMs },
  }
}
