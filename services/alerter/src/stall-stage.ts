import { advance, type PartitionWatermark, stallConditions, trackProgress } from '@cpi/alerting'
import { type Context, isStall, type Plan } from './round-state.ts'

/** What the stall stage works with: the threshold and the links its alerts carry. */
export type StallInput = Pick<Context, 'stallAfterMs' | 'links'>

/**
 * The stall stage, on the wall clock: each partition's progress given the watermarks `observed`
 * at `at`, and its `pipeline_stalled` condition through the lifecycle, into the plan. The
 * threshold is the wait: a partition stalled that long fires at once.
 */
export function evaluateStalls(
  input: StallInput,
  plan: Plan,
  observed: readonly PartitionWatermark[],
  at: number,
): void {
  plan.progress = trackProgress(plan.progress, observed, at)
  const conditions = stallConditions({
    progress: plan.progress.values(),
    observed,
    at,
    stallAfterMs: input.stallAfterMs,
    links: input.links,
  })
  const previous = new Map([...plan.alerts].filter(([, alert]) => isStall(alert)))
  const step = advance(previous, conditions, at, { pendingForMs: 0 })
  for (const [key, record] of step.alerts) plan.alerts.set(key, record)
  plan.transitions.push(...step.transitions)
}
