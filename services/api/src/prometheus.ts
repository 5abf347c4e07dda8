import type { CpiTotals } from '@cpi/clickhouse'
import type { CpiDefinition } from '@cpi/cpi-core'

// Every CPI's counts in the Prometheus text format (`GET /v1/prometheus`), for SLO tools that
// compute ratios from counters (Sloth, Pyrra, Grafana SLO) and for Alertmanager rules: final good
// and final known outcomes as counters (a provisional good can still turn bad: counted once
// final, so the counters do not fall back in normal operation), provisional and pending as
// gauges, per CPI and segment value, and each CPI's objective target. Label values per dimension
// are bounded: the `maxValues` with the most outcomes keep their own series, the rest are summed
// under `value="(other)"` (a name no segment value is given by the simulator or the examples).

/** A label value as the text format wants it: backslash, double quote and line feed escaped. */
export const labelValue = (text: string): string =>
  text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')

const labels = (pairs: Record<string, string>) =>
  `{${Object.entries(pairs)
    .map(([name, value]) => `${name}="${labelValue(value)}"`)
    .join(',')}}`

/** The label value the segment values past the first `maxValues` of a dimension are summed under. */
export const OTHER = '(other)'

/** Rows of one CPI and dimension past the first `maxValues` (by known outcomes) summed into `other`. */
function bounded(rows: readonly CpiTotals[], maxValues: number): CpiTotals[] {
  const groups = new Map<string, CpiTotals[]>()
  for (const row of rows) {
    const key = `${row.cpi}\u0000${row.dimension}`
    const group = groups.get(key) ?? []
    group.push(row)
    groups.set(key, group)
  }
  const kept: CpiTotals[] = []
  for (const group of groups.values()) {
    const sorted = [...group].sort(
      (a, b) => b.total - a.total || b.pending - a.pending || a.value.localeCompare(b.value),
    )
    kept.push(...sorted.slice(0, maxValues))
    const rest = sorted.slice(maxValues)
    if (rest.length === 0) continue
    const other: CpiTotals = {
      ...(rest[0] as CpiTotals),
      value: OTHER,
      good: 0,
      total: 0,
      pending: 0,
      provisional: 0,
    }
    for (const row of rest) {
      other.good += row.good
      other.total += row.total
      other.pending += row.pending
      other.provisional += row.provisional
    }
    kept.push(other)
  }
  return kept
}

/** The exposition: counters and gauges of every CPI of the catalog that has rows, and every target. */
export function prometheusExposition(
  catalog: readonly CpiDefinition[],
  totals: readonly CpiTotals[],
  maxValues = 20,
): string {
  const active = catalog.filter((definition) => definition.lifecycle !== 'draft')
  const names = new Set(active.map((definition) => definition.name))
  const rows = bounded(
    totals.filter((row) => names.has(row.cpi)),
    maxValues,
  )
  const family = (
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    pick: (row: CpiTotals) => number,
  ) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...rows.map(
      (row) => `${name}${labels({ cpi: row.cpi, dimension: row.dimension, value: row.value })} ${pick(row)}`,
    ),
  ]
  return `${[
    ...family(
      'cpi_outcomes_good_total',
      'counter',
      'Interactions that met the CPI expectation, final outcomes over all history (late data or a recompute can still revise one)',
      (row) => row.good - row.provisional,
    ),
    ...family(
      'cpi_outcomes_total',
      'counter',
      'Interactions whose outcome is known and final (good + bad), over all history',
      (row) => row.total - row.provisional,
    ),
    ...family(
      'cpi_outcomes_provisional',
      'gauge',
      'Good outcomes whose follow-up window is still open (not in the counters yet)',
      (row) => row.provisional,
    ),
    ...family(
      'cpi_outcomes_pending',
      'gauge',
      'Interactions not decided yet (deadline ahead)',
      (row) => row.pending,
    ),
    '# HELP cpi_objective_target The CPI objective: the share of good outcomes aimed at',
    '# TYPE cpi_objective_target gauge',
    ...catalog
      .filter((definition) => definition.lifecycle !== 'draft')
      .map(
        (definition) =>
          `cpi_objective_target${labels({ cpi: definition.name })} ${definition.objective.target}`,
      ),
  ].join('\n')}\n`
}
