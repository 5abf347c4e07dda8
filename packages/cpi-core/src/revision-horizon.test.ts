import { describe, expect, it } from 'vitest'
import { builtinCatalogFile, loadCatalog, parseCatalog } from './index.ts'
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

  it('counts a time allowed on business hours as the longest wall time it can take, plus two weeks for holidays', () => {
    const weekday = [{ from: '09:00', to: '17:00' }]
    const [cpi] = parseCatalog({
      calendars: [
        {
          name: 'desk',
          timeZone: 'Europe/Berlin',
          week: { mon: weekday, tue: weekday, wed: weekday, thu: weekday, fri: weekday },
        },
      ],
      cpis: [
        {
          name: 'resolved_one_day',
          displayName: 'Resolved within a working day',
          description: 'd',
          owner: 'o',
          version: 1,
          shape: 'latency',
          start: { type: 'ticket.opened' },
          completion: [{ type: 'ticket.resolved' }],
          expectation: { within: '8h', calendar: 'desk' },
        },
      ],
    })
    // Eight working hours from Friday 10:00 end on Monday 10:00: three days of wall time.
    expect(revisionHorizonMs(cpi ? [cpi] : [])).toBe(3 * DAY + 14 * DAY + DAY)
  })
})
