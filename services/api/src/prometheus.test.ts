import type { CpiTotals } from '@cpi/clickhouse'
import { loadCatalog } from '@cpi/cpi-core'
import { describe, expect, it } from 'vitest'
import { labelValue, prometheusExposition } from './prometheus.ts'

const row = (
  dimension: string,
  value: string,
  good: number,
  total: number,
  pending = 0,
  provisional = 0,
): CpiTotals => ({ cpi: 'fast_quote', dimension, value, good, total, pending, provisional })

describe('the Prometheus exposition of the CPIs', () => {
  it('writes counters and gauges per CPI and segment value, and each target', async () => {
    const catalog = await loadCatalog()
    const text = prometheusExposition(catalog, [
      row('all', 'all', 90, 100, 7, 4),
      row('channel', 'web', 60, 70, 5),
      { ...row('all', 'all', 1, 1), cpi: 'not_in_the_catalog' },
    ])
    const lines = text.trimEnd().split('\n')
    expect(lines).toContain('# TYPE cpi_outcomes_good_total counter')
    // Final outcomes only in the counters: 4 provisional goods wait in their gauge.
    expect(lines).toContain('cpi_outcomes_good_total{cpi="fast_quote",dimension="all",value="all"} 86')
    expect(lines).toContain('cpi_outcomes_total{cpi="fast_quote",dimension="all",value="all"} 96')
    expect(lines).toContain('cpi_outcomes_provisional{cpi="fast_quote",dimension="all",value="all"} 4')
    expect(lines).toContain('cpi_outcomes_total{cpi="fast_quote",dimension="channel",value="web"} 70')
    expect(lines).toContain('# TYPE cpi_outcomes_pending gauge')
    expect(lines).toContain('cpi_outcomes_pending{cpi="fast_quote",dimension="all",value="all"} 7')
    expect(lines).toContain('cpi_objective_target{cpi="fast_quote"} 0.9')
    expect(lines.filter((line) => line.startsWith('cpi_objective_target{'))).toHaveLength(catalog.length)
    // A CPI the catalog does not know has no series; every sample line is name{labels} number.
    expect(text).not.toContain('not_in_the_catalog')
    for (const line of lines.filter((candidate) => !candidate.startsWith('#')))
      expect(line).toMatch(/^[a-z_]+\{[^}]*\} -?\d+(\.\d+)?$/)
  })

  it('keeps the values with the most outcomes per dimension and sums the rest under (other)', async () => {
    const catalog = await loadCatalog()
    const rows = Array.from({ length: 5 }, (_, index) =>
      row('product', `p${index}`, index, 10 * (index + 1), 1),
    )
    const text = prometheusExposition(catalog, rows, 2)
    const totals = text.split('\n').filter((line) => line.startsWith('cpi_outcomes_total{'))
    expect(totals).toEqual([
      'cpi_outcomes_total{cpi="fast_quote",dimension="product",value="p4"} 50',
      'cpi_outcomes_total{cpi="fast_quote",dimension="product",value="p3"} 40',
      'cpi_outcomes_total{cpi="fast_quote",dimension="product",value="(other)"} 60',
    ])
    expect(text).toContain('cpi_outcomes_good_total{cpi="fast_quote",dimension="product",value="(other)"} 3')
    expect(text).toContain('cpi_outcomes_pending{cpi="fast_quote",dimension="product",value="(other)"} 3')
  })

  it('escapes label values as the text format requires', () => {
    expect(labelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
  })
})
