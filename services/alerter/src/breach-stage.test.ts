import type { BreachCount } from '@cpi/alerting'
import { describe, expect, it } from 'vitest'
import { type BreachInput, evaluateBreaches } from './breach-stage.ts'
import { type State, startPlan } from './round-state.ts'

// The breach stage without ClickHouse: the breach queue's counts come from a function the test
// gives. An `about_to_breach` ticket fires as soon as enough open interactions are due, and
// resolves once they are fewer; the rule off asks nothing.

const MIN = 60_000
const DAY = 86_400_000
const T = Date.parse('2026-11-22T10:00:00Z')
const links = { dashboardUrl: 'https://cpi.example.com', runbookUrl: 'https://runbooks.example.com/cpi' }

const emptyState = (): State => ({
  alerts: new Map(),
  through: undefined,
  progress: new Map(),
  unnotified: new Set(),
  watermark: undefined,
})

/** The stage's input with counts the test sets; `queries` records what it asked. */
function fakeInput(policy = { withinMs: 10 * MIN, minInteractions: 3 }) {
  const queries: unknown[] = []
  let counts: BreachCount[] = []
  const input: BreachInput = {
    breach: {
      cpis: [
        { name: 'fast_quote', displayName: 'Fast quote', alerting: 'page' },
        { name: 'quiet_cpi', displayName: 'Quiet', alerting: 'none' },
      ],
      lookBackMs: 14 * DAY,
      policy,
    },
    links,
    breachCounts: async (query) => {
      queries.push(query)
      return counts
    },
  }
  const setCounts = (all: number, web = 0) => {
    counts = [
      { cpi: 'fast_quote', dimension: 'all', value: 'all', count: all },
      { cpi: 'fast_quote', dimension: 'channel', value: 'web', count: web },
      { cpi: 'quiet_cpi', dimension: 'all', value: 'all', count: 100 },
    ]
  }
  return { input, queries, setCounts }
}

/** One round of the stage at `at`, made the state; `[cpi, from → to, value]` of each transition. */
async function round(input: BreachInput, state: State, at: number) {
  const plan = startPlan(state, undefined)
  await evaluateBreaches(input, plan, at)
  state.alerts = plan.alerts
  return plan.transitions.map((t) => [t.alert.labels.cpi, `${t.from} → ${t.to}`, t.alert.value])
}

describe('evaluateBreaches', () => {
  it('fires a ticket once enough open interactions are about to breach, and resolves when they are fewer', async () => {
    const { input, queries, setCounts } = fakeInput()
    const state = emptyState()
    setCounts(2)
    expect(await round(input, state, T)).toEqual([])
    setCounts(3, 2)
    expect(await round(input, state, T + MIN)).toEqual([['fast_quote', 'inactive → firing', 3]])
    const alert = [...state.alerts.values()][0]
    expect(alert?.labels).toMatchObject({ rule: 'about_to_breach', severity: 'ticket', cpi: 'fast_quote' })
    expect(alert?.annotations.summary).toBe('Fast quote: 3 open interactions breach within 10 min')
    expect(alert?.annotations.description).toContain('Most in channel=web (2).')
    setCounts(5)
    expect(await round(input, state, T + 2 * MIN)).toEqual([])
    expect([...state.alerts.values()][0]?.value).toBe(5)
    setCounts(1)
    expect(await round(input, state, T + 3 * MIN)).toEqual([['fast_quote', 'firing → resolved', 1]])
    // Every CPI watched is asked about (a CPI that does not alert is then not judged).
    expect(queries[0]).toEqual({
      cpis: ['fast_quote', 'quiet_cpi'],
      withinMs: 10 * MIN,
      lookBackMs: 14 * DAY,
    })
    expect(queries).toHaveLength(4)
  })

  it('asks nothing and changes nothing while the rule is off or watches no CPI', async () => {
    const off = fakeInput({ withinMs: 0, minInteractions: 1 })
    off.setCounts(50)
    const plan = startPlan(emptyState(), undefined)
    await evaluateBreaches(off.input, plan, T)
    expect(off.queries).toEqual([])
    expect(plan.transitions).toEqual([])
    const none = fakeInput()
    none.setCounts(50)
    await evaluateBreaches({ ...none.input, breach: { ...none.input.breach, cpis: [] } }, plan, T)
    expect(none.queries).toEqual([])
    expect(plan.alerts.size).toBe(0)
  })
})
