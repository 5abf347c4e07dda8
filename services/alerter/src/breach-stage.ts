import { advance, breachConditions } from '@cpi/alerting'
import { type Context, isBreach, type Plan } from './round-state.ts'

/** What the breach stage works with: the watched CPIs and the rule's policy, and the breach queue's counts. */
export type BreachInput = Pick<Context, 'breach' | 'links' | 'breachCounts'>

/**
 * The breach stage, on the wall clock (when `breach.policy.withinMs` is set): the breach queue's
 * count per CPI at `at`, its `about_to_breach` condition through the lifecycle, into the plan.
 * Fires at once: the deadline will not wait for a pending period.
 */
export async function evaluateBreaches(input: BreachInput, plan: Plan, at: number): Promise<void> {
  const { policy, cpis, lookBackMs } = input.breach
  if (policy.withinMs <= 0 || cpis.length === 0) return
  const counts = await input.breachCounts({
    cpis: cpis.map((cpi) => cpi.name),
    withinMs: policy.withinMs,
    lookBackMs,
  })
  const conditions = breachConditions({ cpis, counts, policy, links: input.links })
  const previous = new Map([...plan.alerts].filter(([, alert]) => isBreach(alert)))
  const step = advance(previous, conditions, at, { pendingForMs: 0 })
  for (const [key, record] of step.alerts) plan.alerts.set(key, record)
  plan.transitions.push(...step.transitions)
}
