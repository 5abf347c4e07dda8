import { type CountRow, evaluateSteps, rangesToRead, stepsBetween } from './evaluation.ts'
import type { Context, Plan } from './round-state.ts'

/** At most a day of minute steps per evaluation (a longer gap is skipped with a warning). */
export const MAX_STEPS = 1440

/** What the CPI rules stage works with: the rules, and the reads of minute counts and latest outcomes. */
export type CpiRulesInput = Pick<
  Context,
  'rules' | 'policy' | 'links' | 'lookbackMs' | 'logger' | 'minuteCounts' | 'lastOutcomeTimes'
>

/**
 * The CPI rules stage, on event time: walks the minute steps the lowest watermark passed since
 * the plan's `through` (the first round starts `lookbackMs` before the watermark), for every
 * CPI, into the plan.
 */
export async function evaluateCpis(input: CpiRulesInput, plan: Plan): Promise<void> {
  if (plan.watermark === undefined) return
  plan.through ??= Math.floor((plan.watermark - input.lookbackMs) / 60_000) * 60_000
  const steps = stepsBetween(plan.through, plan.watermark, MAX_STEPS)
  if (steps.length === 0) return
  const firstStep = steps[0] as number
  const lastStep = steps[steps.length - 1] as number
  plan.lastStep = lastStep
  if (firstStep > plan.through + 60_000)
    input.logger.warn(
      { from: new Date(plan.through).toISOString(), to: new Date(firstStep).toISOString() },
      'skipping an evaluation gap longer than a day',
    )
  for (const set of input.rules) {
    const rows: CountRow[] = []
    for (const range of rangesToRead(set, input.policy, firstStep, lastStep))
      rows.push(...(await input.minuteCounts({ cpi: set.cpi.name, ...range })))
    const last = (await input.lastOutcomeTimes(firstStep - set.lookbackMs)).get(set.cpi.name)
    const result = evaluateSteps({
      rules: set,
      rows,
      steps,
      alerts: new Map([...plan.alerts].filter(([, alert]) => alert.labels.cpi === set.cpi.name)),
      policy: input.policy,
      links: input.links,
      lastDataBefore: last ?? null,
    })
    for (const [key, record] of result.alerts) plan.alerts.set(key, record)
    // A pending cycle that ended is forgotten by the lifecycle; keep it so its seq goes on.
    for (const transition of result.transitions)
      if (transition.to === 'inactive') plan.alerts.set(transition.fingerprint, transition.alert)
    plan.transitions.push(...result.transitions)
  }
}
