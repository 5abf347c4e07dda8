import { describe, expect, it } from 'vitest'
import { builtinCatalogFile, loadCatalog } from './index.ts'
import { revisionHorizonMs } from './revision-horizon.ts'

const DAY = 86_400_000

describe('revisionHorizonMs', () => {
  it("is the built-in catalog's longest follow-up window (7 days) plus a day", async () => {
    const catalog = await loadCatalog([builtinCatalogFile])
    expect(revisionHorizonMs(catalog)).toBe(8 * DAY)
  })

  it('follows the longest wait of any CPI, expectations and rules included, plus the margin', async () => {
    const catalog = await loadCatalog([builtinCatalogFile])
    const quote = catalog.find((definition) => definition.name === 'fast_quote')
    if (quote?.shape !== 'latency') throw new Error('fast_quote is a latency CPI')
    const slow = { ...quote, expectation: { ...quote.expectation, rules: [{ when: {}, within: 20 * DAY }] } }
    expect(revisionHorizonMs([slow], 0)).toBe(20 * DAY)
    expect(revisionHorizonMs([], 3)).toBe(3)
  })
})
