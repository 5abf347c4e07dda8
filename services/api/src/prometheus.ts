import type { CpiTotals } from '@cpi/clickhouse'
import type { CpiDefinition } from '@cpi/cpi-core'

// Every CPI's counts in the Prometheus text format (`GET /v1/prometheus`), for SLO tools that
// compute ratios from counters (Sloth, Pyrra, Grafana SLO) and for Alertmanager rules: good and
// known outcomes as counters, pending as a gauge, per CPI and segment value, and each CPI's
// objective target. Label values per dimension are bounded: the `maxValues` with the most
// outcomes keep their own series, the rest are summed under `value="other"`.

/** A label value as the text format wants it: backslash, double quote and line feed escaped. */
export const labelValue = (text: string): string =>
  text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')

const labels = (pairs: Record<string, string>) =>
  `{${Object.entries(pairs)
    .map(([name, value]) => `${name}="${labelValue(value)}"`)
    .join(',')}}`

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
    const other: CpiTotals = { ...(rest[0] as CpiTotals), value: 'other', good: 0, total: 0, pending: 0 }
    for (const row of rest) {
      other.good += row.good
      other.total += row.total
      other.pending += row.pending
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
  const names = new Set(catalog.map((definition) => definition.name))
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
      'Interactions that met the CPI expectation, over all history (a revision can lower it: late data, a recompute)',
      (row) => row.good,
    ),
    ...family(
      'cpi_outcomes_total',
      'counter',
      'Interactions whose outcome is known (good + bad), over all history (a revision can lower it)',
      (row) => row.total,
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
