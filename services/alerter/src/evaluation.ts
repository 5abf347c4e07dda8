import {
  type AlertLinks,
  type AlertPolicy,
  type AlertRecord,
  advance,
  allSegment,
  type BurnTier,
  burnTiers,
  type Condition,
  type CpiUnderEvaluation,
  evaluate,
  MINUTE_MS,
  type MinuteCounts,
  MinuteSeries,
  type Transition,
} from '@cpi/alerting'
import type { CpiDefinition } from '@cpi/cpi-core'

// The alerter's evaluation over stored minute counts: which range to read, and the minute steps
// walked through the pure rules and lifecycle. No I/O here.

const WEEK = 7 * 86_400_000

export interface RuleSet {
  cpi: CpiUnderEvaluation
  warnings: string[]
  /** The longest window any rule of this CPI reads. */
  lookbackMs: number
}

/** The rules of each CPI of the catalog; tiers that can never fire are warnings. */
export function ruleSets(catalog: readonly CpiDefinition[], policy: AlertPolicy): RuleSet[] {
  return catalog
    .filter((definition) => definition.lifecycle !== 'draft')
    .map((definition) => {
      const { tiers, warnings } = burnTiers(definition.objective, definition.alerting)
      const longest = Math.max(
        policy.baselineWindowMs,
        policy.noDataAfterMs,
        ...tiers.map((tier: BurnTier) => tier.longMs),
      )
      return {
        cpi: {
          name: definition.name,
          displayName: definition.displayName,
          target: definition.objective.target,
          tiers,
          alerting: definition.alerting,
        },
        warnings,
        lookbackMs: Math.ceil(longest / MINUTE_MS) * MINUTE_MS,
      }
    })
}

export interface CountRow extends MinuteCounts {
  dimension: string
  value: string
  pending: number
}

/** The event-time ranges to read for evaluating steps in (firstStep − 1 min, lastStep]: the windows and the baseline weeks. */
export function rangesToRead(
  rules: RuleSet,
  policy: AlertPolicy,
  firstStep: number,
  lastStep: number,
): { from: number; to: number }[] {
  const ranges = [{ from: firstStep - rules.lookbackMs, to: lastStep }]
  if (rules.cpi.alerting !== 'none') {
    for (let week = 1; week <= policy.baselineWeeks; week++)
      ranges.push({ from: firstStep - policy.baselineWindowMs - week * WEEK, to: lastStep - week * WEEK })
  }
  return ranges
}

/**
 * Walks every minute step through the rules: conditions per segment (and the whole CPI), then
 * the lifecycle. `rows` are the CPI's minute counts over `rangesToRead`. A CPI that has had no
 * data before a step cannot be missing data (a new CPI does not alert).
 */
export function evaluateSteps(input: {
  rules: RuleSet
  rows: readonly CountRow[]
  steps: readonly number[]
  alerts: ReadonlyMap<string, AlertRecord>
  policy: AlertPolicy
  links: AlertLinks
  /** The CPI's latest outcome before the ranges read, null when it has none. */
  lastDataBefore: number | null
}): { alerts: Map<string, AlertRecord>; transitions: Transition[]; conditions: Condition[] } {
  const { rules, policy } = input
  const bySegment = new Map<string, { dimension: string; value: string; rows: MinuteCounts[] }>()
  // Minutes with any outcome, known or pending, of the whole CPI: data arrived.
  const minutesWithData: number[] = []
  for (const row of input.rows) {
    const key = `${row.dimension}\u0000${row.value}`
    const entry = bySegment.get(key) ?? { dimension: row.dimension, value: row.value, rows: [] }
    entry.rows.push({ minute: row.minute, good: row.good, total: row.total })
    bySegment.set(key, entry)
    if (row.dimension === 'all' && row.total + row.pending > 0) minutesWithData.push(row.minute)
  }
  minutesWithData.sort((a, b) => a - b)
  const allKey = `${allSegment.dimension}\u0000${allSegment.value}`
  if (!bySegment.has(allKey)) bySegment.set(allKey, { ...allSegment, rows: [] })
  const segments = [...bySegment.values()].map((entry) => ({
    segment: { dimension: entry.dimension, value: entry.value },
    series: new MinuteSeries(entry.rows),
  }))

  let alerts = new Map(input.alerts)
  const transitions: Transition[] = []
  let conditions: Condition[] = []
  for (const at of input.steps) {
    conditions = []
    for (const { segment, series } of segments) {
      const isAll = segment.dimension === 'all'
      const baseline = {
        current: series.window(at, policy.baselineWindowMs),
        previousWeeks: Array.from({ length: policy.baselineWeeks }, (_, index) =>
          series.window(at - (index + 1) * WEEK, policy.baselineWindowMs),
        ),
      }
      let lastDataAt: number | null = input.lastDataBefore
      if (isAll) {
        const latest = lastBefore(minutesWithData, at)
        if (latest !== null) lastDataAt = latest + MINUTE_MS
      }
      conditions.push(
        ...evaluate({
          cpi: rules.cpi,
          segment,
          series,
          at,
          policy,
          links: input.links,
          baseline,
          ...(isAll ? { lastDataAt, hadData: lastDataAt !== null } : {}),
        }),
      )
    }
    const step = advance(alerts, conditions, at, policy)
    alerts = step.alerts
    transitions.push(...step.transitions)
  }
  return { alerts, transitions, conditions }
}

function lastBefore(sorted: readonly number[], endExclusive: number): number | null {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const middle = (low + high) >> 1
    if ((sorted[middle] as number) < endExclusive) low = middle + 1
    else high = middle
  }
  return low === 0 ? null : (sorted[low - 1] as number)
}

/** The minute steps after `through` up to the watermark's minute, at most `maxSteps` (the latest ones). */
export function stepsBetween(through: number, watermark: number, maxSteps: number): number[] {
  const last = Math.floor(watermark / MINUTE_MS) * MINUTE_MS
  const first = Math.max(through + MINUTE_MS, last - (maxSteps - 1) * MINUTE_MS)
  const steps: number[] = []
  for (let at = first; at <= last; at += MINUTE_MS) steps.push(at)
  return steps
}
