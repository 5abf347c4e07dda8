import type { CpiPoint } from '@cpi/clickhouse'
import type { CpiDefinition } from '@cpi/cpi-core'
import { formatDuration } from './params.ts'

// What the catalog endpoint, the live stream and the dashboard's tiles show for each CPI: pure,
// from the definitions and the window values read from ClickHouse.

export type Health = 'ok' | 'at_risk' | 'breached' | 'no_data'

export interface CpiSummary {
  name: string
  displayName: string
  description: string
  owner: string
  shape: CpiDefinition['shape']
  version: number
  dimensions: string[]
  objective: { target: number; window: string }
  alerting: CpiDefinition['alerting']
  /** CPIs that move before this one. */
  leadingIndicators: string[]
  /** CPIs this one leads (they name it among their leading indicators). */
  laggingIndicators: string[]
  /** Weight in the shared customer index. */
  indexWeight: number
  current: CpiPoint | null
  previous: CpiPoint | null
  trend: number | null
  health: Health
  firingAlerts: number
  sparkline: { windowStart: string; ratio: number | null }[]
}

/**
 * ok: at or above target. breached: the error rate is at least twice the budget (1 − target)
 * or a page alert fires. at_risk: below target, short of that. no_data: nothing known yet.
 */
export function healthOf(ratio: number | null, target: number, pageFiring: boolean): Health {
  if (pageFiring) return 'breached'
  if (ratio === null) return 'no_data'
  if (ratio >= target) return 'ok'
  // A tolerance: 1 − 0.9 = 0.09999999999999998 < 2 × (1 − 0.95) = 0.10000000000000009.
  return 1 - ratio >= 2 * (1 - target) - 1e-9 ? 'breached' : 'at_risk'
}

/**
 * `windows` are the CPI's consecutive windows ending at `asOf`, oldest first; windows without
 * any outcome are missing from it and count as empty.
 */
export function summarize(
  definition: CpiDefinition,
  windows: readonly CpiPoint[],
  options: {
    asOf: number
    windowMs: number
    count: number
    firing: number
    pageFiring: boolean
    /** CPIs that name this one as a leading indicator. */
    lagging?: readonly string[]
  },
): CpiSummary {
  const byStart = new Map(windows.map((point) => [Date.parse(point.windowStart), point]))
  const starts = Array.from(
    { length: options.count },
    (_, index) => options.asOf - (options.count - index) * options.windowMs,
  )
  const point = (start: number | undefined) => (start === undefined ? null : (byStart.get(start) ?? null))
  const current = point(starts[starts.length - 1])
  const previous = point(starts[starts.length - 2])
  const ratio = current?.ratio ?? null
  return {
    name: definition.name,
    displayName: definition.displayName,
    description: definition.description,
    owner: definition.owner,
    shape: definition.shape,
    version: definition.version,
    dimensions: [...definition.dimensions],
    objective: { target: definition.objective.target, window: formatDuration(definition.objective.window) },
    alerting: definition.alerting,
    leadingIndicators: [...definition.leadingIndicators],
    laggingIndicators: [...(options.lagging ?? [])],
    indexWeight: definition.indexWeight,
    current,
    previous,
    trend: ratio !== null && previous?.ratio != null ? ratio - previous.ratio : null,
    health: healthOf(ratio, definition.objective.target, options.pageFiring),
    firingAlerts: options.firing,
    sparkline: starts.map((start) => ({
      windowStart: new Date(start).toISOString(),
      ratio: byStart.get(start)?.ratio ?? null,
    })),
  }
}
