import { describe, expect, it } from 'vitest'
import { builtinCatalogFile, loadCatalog, parseCatalog } from './catalog.ts'
import { exportOpenSlo, importOpenSlo, openSloSli, openSloSlo } from './openslo.ts'

const builtin = await loadCatalog([builtinCatalogFile])
const fastQuote = builtin.find((definition) => definition.name === 'fast_quote')
if (!fastQuote) throw new Error('fast_quote is built in')

describe('OpenSLO export', () => {
  it('writes every built-in CPI as a v1 SLI and SLO', () => {
    for (const definition of builtin) {
      const [sli, slo] = exportOpenSlo(definition)
      expect(openSloSli.safeParse(sli).success, definition.name).toBe(true)
      expect(openSloSlo.safeParse(slo).success, definition.name).toBe(true)
      expect(slo.spec.indicatorRef).toBe(sli.metadata.name)
    }
  })

  it('names the SLO after the CPI, counts occurrences over its window, and reads the Prometheus counters', () => {
    const [sli, slo] = exportOpenSlo(fastQuote)
    expect(slo.metadata).toEqual({ name: 'fast-quote', displayName: fastQuote.displayName })
    expect(slo.spec).toMatchObject({
      budgetingMethod: 'Occurrences',
      timeWindow: [{ duration: '28d', isRolling: true }],
      objectives: [{ target: fastQuote.objective.target }],
    })
    expect(sli.spec.ratioMetric?.counter).toBe(true)
    expect(sli.spec.ratioMetric?.good?.metricSource.spec.query).toBe(
      'max(cpi_outcomes_good_total{cpi="fast_quote",dimension="all",value="all"})',
    )
    expect(sli.spec.ratioMetric?.total.metricSource.spec.query).toBe(
      'max(cpi_outcomes_total{cpi="fast_quote",dimension="all",value="all"})',
    )
  })
})

describe('OpenSLO import', () => {
  it('gives every exported CPI back exactly (round trip through JSON text)', () => {
    const documents = JSON.parse(JSON.stringify(builtin.flatMap((definition) => exportOpenSlo(definition))))
    expect(parseCatalog({ cpis: importOpenSlo(documents) })).toEqual(builtin)
  })

  it('carries followUp as the catalog writes it (0s for none), and refuses a definition without it', () => {
    const payment = builtin.find((definition) => definition.name === 'payment_flexibility')
    if (!payment) throw new Error('payment_flexibility is built in')
    const [sli, slo] = JSON.parse(JSON.stringify(exportOpenSlo(payment)))
    // The definition rides in the good metric source's spec.
    const definition = sli.spec.ratioMetric.good.metricSource.spec.cpiDefinition
    expect(definition.followUp).toBe('0s')
    delete definition.followUp
    expect(() => parseCatalog({ cpis: importOpenSlo([sli, slo]) })).toThrow(/followUp: required/)
  })

  it("takes the SLO's target and window when they were edited there", () => {
    const [sli, slo] = exportOpenSlo(fastQuote)
    slo.spec.objectives = [{ target: 0.97 }]
    slo.spec.timeWindow = [
      {
        duration: '2w',
        isRolling: false,
        calendar: { startTime: '2026-01-01 00:00:00', timeZone: 'Etc/UTC' },
      },
    ]
    const [imported] = parseCatalog({ cpis: importOpenSlo([sli, slo]) })
    expect(imported?.objective).toEqual({ target: 0.97, window: 14 * 86_400_000, kind: 'calendar' })
    expect({ ...imported, objective: fastQuote.objective }).toEqual(fastQuote)
  })

  it("refuses another tool's ratio SLO, saying what a CPI needs", () => {
    const foreign = [
      {
        apiVersion: 'openslo/v1',
        kind: 'SLO',
        metadata: { name: 'checkout-availability' },
        spec: {
          service: 'checkout',
          indicator: {
            metadata: { name: 'checkout-ok' },
            spec: {
              ratioMetric: {
                counter: true,
                good: { metricSource: { type: 'Prometheus', spec: { query: 'sum(http_ok)' } } },
                total: { metricSource: { type: 'Prometheus', spec: { query: 'sum(http_all)' } } },
              },
            },
          },
          timeWindow: [{ duration: '30d', isRolling: true }],
          budgetingMethod: 'Occurrences',
          objectives: [{ target: 0.995 }],
        },
      },
    ]
    expect(() => importOpenSlo(foreign)).toThrow(
      /SLO checkout-availability: the good metric source's spec has no cpiDefinition: .*start and completion events.*target 0\.995/,
    )
  })

  it('names every field of an invalid document, and imports nothing', () => {
    const [sli, slo] = exportOpenSlo(fastQuote)
    const broken = {
      ...slo,
      metadata: { name: 'fast_quote' },
      spec: {
        ...slo.spec,
        budgetingMethod: undefined,
        indicator: { metadata: { name: 'x' }, spec: sli.spec },
      },
    }
    let message = ''
    try {
      const both = { ...slo, spec: { ...slo.spec, indicator: { metadata: { name: 'x' }, spec: sli.spec } } }
      importOpenSlo([sli, broken, { kind: 'Service' }, both])
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain('document 2 (SLO): metadata.name: an OpenSLO name')
    expect(message).toContain('document 2 (SLO): spec.budgetingMethod:')
    expect(message).toContain('document 4 (SLO): spec: an SLO has exactly one of indicator and indicatorRef')
    expect(message).toContain('document 3 (Service): expected an OpenSLO v1 SLI or SLO, got kind "Service"')
  })
})
