// Multi-window, multi-burn-rate alerting (Google SRE workbook, "Alerting on SLOs", table 5-8).
// The workbook's windows are for a 30-day objective; other objective windows scale them.

export type Severity = 'page' | 'ticket'
export type AlertingLevel = 'page' | 'ticket' | 'none'

/** Good and total outcomes over some span of time (known outcomes only). */
export interface Counts {
  good: number
  total: number
}

export interface BurnTier {
  severity: Severity
  /** How many times faster than sustainable the error budget burns. */
  factor: number
  longMs: number
  shortMs: number
  /** factor × (1 − target): the error rate both windows must reach. */
  errorRateThreshold: number
  /** factor × longMs / window: the share of the error budget burnt before this tier fires. */
  budgetShare: number
}

export interface Objective {
  target: number
  /** The objective's window in milliseconds (28 days by default in the catalog). */
  window: number
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const WORKBOOK_WINDOW = 30 * DAY

const WORKBOOK_TIERS: readonly { severity: Severity; factor: number; longMs: number; shortMs: number }[] = [
  { severity: 'page', factor: 14.4, longMs: HOUR, shortMs: 5 * MINUTE },
  { severity: 'page', factor: 6, longMs: 6 * HOUR, shortMs: 30 * MINUTE },
  { severity: 'ticket', factor: 3, longMs: DAY, shortMs: 2 * HOUR },
  { severity: 'ticket', factor: 1, longMs: 3 * DAY, shortMs: 6 * HOUR },
]

/** A workbook window scaled to the objective window, rounded up to whole minutes, at least one. */
function scaleWindow(workbookMs: number, objectiveWindow: number): number {
  // Whole minutes times an integer window stays exact in a double, so the one division is
  // correctly rounded and an exact multiple of a minute never rounds up by one.
  const minutes = Math.ceil(((workbookMs / MINUTE) * objectiveWindow) / WORKBOOK_WINDOW)
  return Math.max(1, minutes) * MINUTE
}

/** `0.9` → `90%`, `1.44` → `144%`, `0.999` → `99.9%`. */
export function formatPercent(ratio: number): string {
  return `${Number((ratio * 100).toFixed(2))}%`
}

/** `6` → `6×`, `14.4` → `14.4×`, `8.1666` → `8.2×`. */
export function formatFactor(factor: number): string {
  return `${Number(factor.toFixed(factor !== 0 && Math.abs(factor) < 1 ? 2 : 1))}×`
}

/**
 * The burn-rate tiers of an objective. Tiers that could never fire (they would need an error
 * rate above 100 %) are left out with a warning; `alerting: 'ticket'` downgrades page tiers.
 */
export function burnTiers(
  objective: Objective,
  alerting: AlertingLevel,
): { tiers: BurnTier[]; warnings: string[] } {
  if (!(objective.target > 0 && objective.target < 1))
    throw new RangeError(`expected an objective target between 0 and 1, got ${objective.target}`)
  if (!(Number.isFinite(objective.window) && objective.window > 0))
    throw new RangeError(`expected a positive objective window in ms, got ${objective.window}`)
  if (alerting === 'none') return { tiers: [], warnings: [] }

  const tiers: BurnTier[] = []
  const warnings: string[] = []
  const budget = 1 - objective.target
  for (const workbook of WORKBOOK_TIERS) {
    const severity: Severity = alerting === 'ticket' ? 'ticket' : workbook.severity
    const errorRateThreshold = workbook.factor * budget
    // A tolerance so that e.g. 10 × (1 − 0.9) = 0.9999999999999998 or 1.0000000000000002 both count as 100 %.
    if (errorRateThreshold > 1 + 1e-9) {
      warnings.push(
        `${severity} tier ${formatFactor(workbook.factor)} can never fire at target ${formatPercent(objective.target)}: ` +
          `it needs an error rate of ${formatPercent(errorRateThreshold)}`,
      )
      continue
    }
    const longMs = scaleWindow(workbook.longMs, objective.window)
    const shortMs = scaleWindow(workbook.shortMs, objective.window)
    tiers.push({
      severity,
      factor: workbook.factor,
      longMs,
      shortMs,
      errorRateThreshold,
      budgetShare: (workbook.factor * longMs) / objective.window,
    })
  }
  return { tiers, warnings }
}

/** (total − good) / total; 0 when nothing is known (no outcome, no error). */
export function errorRate(counts: Counts): number {
  return counts.total > 0 ? (counts.total - counts.good) / counts.total : 0
}

/** How many times faster than sustainable the error budget burns: error rate / (1 − target). */
export function burnRate(counts: Counts, target: number): number {
  return errorRate(counts) / (1 - target)
}
