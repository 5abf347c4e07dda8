import type { AlertingLevel } from './burn-tiers.ts'
import type { AlertLinks, Condition } from './conditions.ts'
import { formatDuration } from './format.ts'

/** How many open interactions of a CPI are about to breach, and where (from the breach queue's counts). */
export interface BreachCount {
  cpi: string
  /** `all` for the CPI's total, else a segment dimension. */
  dimension: string
  value: string
  count: number
}

/** A latency CPI the rule watches. */
export interface BreachWatchedCpi {
  name: string
  displayName: string
  alerting: AlertingLevel
}

export interface BreachPolicy {
  /** How far ahead of the watermark a deadline counts as about to breach (ms). */
  withinMs: number
  /** Open interactions about to breach at or above which the alert fires. */
  minInteractions: number
}

/** Segment values named in an alert's text, at most. */
const TOP_SEGMENTS = 3

/**
 * One `about_to_breach` condition per watched CPI: active while at least `minInteractions` of
 * its open interactions have their deadline within `withinMs` — the breach queue, as an alert,
 * so a desk can act before the misses land. A ticket, never a page: nothing has failed yet.
 * CPIs whose alerting is `none` are not watched.
 */
export function breachConditions(input: {
  cpis: readonly BreachWatchedCpi[]
  counts: readonly BreachCount[]
  policy: BreachPolicy
  links: AlertLinks
}): Condition[] {
  return input.cpis
    .filter((cpi) => cpi.alerting !== 'none')
    .map((cpi) => {
      const mine = input.counts.filter((count) => count.cpi === cpi.name)
      const interactions = mine.find((count) => count.dimension === 'all')?.count ?? 0
      const topSegments = mine
        .filter((count) => count.dimension !== 'all')
        .sort(
          (a, b) =>
            b.count - a.count || a.dimension.localeCompare(b.dimension) || a.value.localeCompare(b.value),
        )
        .slice(0, TOP_SEGMENTS)
        .map((count): [string, string, number] => [count.dimension, count.value, count.count])
      return {
        rule: 'about_to_breach' as const,
        labels: {
          alertname: 'CpiBreachImminent' as const,
          cpi: cpi.name,
          dimension: 'all',
          segment: 'all',
          severity: 'ticket' as const,
          rule: 'about_to_breach' as const,
        },
        active: interactions >= input.policy.minInteractions,
        value: interactions,
        threshold: input.policy.minInteractions,
        annotations: breachAnnotations(cpi, interactions, topSegments, input),
        detail: {
          rule: 'about_to_breach' as const,
          interactions,
          withinMs: input.policy.withinMs,
          topSegments,
        },
      }
    })
}

function breachAnnotations(
  cpi: BreachWatchedCpi,
  interactions: number,
  topSegments: readonly [string, string, number][],
  input: { policy: BreachPolicy; links: AlertLinks },
): Condition['annotations'] {
  const within = formatDuration(input.policy.withinMs)
  const where =
    topSegments.length === 0
      ? ''
      : ` Most in ${topSegments.map(([dimension, value, count]) => `${dimension}=${value} (${count})`).join(', ')}.`
  return {
    summary: `${cpi.displayName}: ${interactions} open interaction${interactions === 1 ? '' : 's'} breach within ${within}`,
    description:
      `${interactions} interactions of ${cpi.displayName} are still open with their deadline less than ${within} ` +
      `ahead (threshold ${input.policy.minInteractions}).${where} Act on them now: the breach queue on the ` +
      'dashboard lists them soonest first.',
    runbook: `${input.links.runbookUrl}#cpibreachimminent`,
    dashboard: `${input.links.dashboardUrl.replace(/\/+$/, '')}/#breaching-heading`,
    cpiDisplayName: cpi.displayName,
  }
}
