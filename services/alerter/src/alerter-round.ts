import { alertingWatermark } from '@cpi/alerting'
import type { StoredAlert } from '@cpi/clickhouse'
import { evaluateBreaches } from './breach-stage.ts'
import { evaluateCpis } from './cpi-rules-stage.ts'
import { recordRound } from './record-stage.ts'
import { type Context, type State, startPlan } from './round-state.ts'
import { tellEndedSilences } from './silence-stage.ts'
import { evaluateStalls } from './stall-stage.ts'

/**
 * One evaluation round, stage by stage, at wall time `at`: the CPI rules on event time up to the
 * events topic's lowest watermark, partition stalls and the breach queue on the wall clock,
 * firings whose silence ended; then recorded and made the state. Returns the rows recorded, for
 * delivery. A failed read or write leaves the state as it was.
 */
export async function evaluateRound(context: Context, state: State, at: number): Promise<StoredAlert[]> {
  const observed = (await context.watermarks()).filter((p) => p.topic === context.eventsTopic)
  const plan = startPlan(state, alertingWatermark(observed, context.eventsTopic))
  await evaluateCpis(context, plan)
  evaluateStalls(context, plan, observed, at)
  await evaluateBreaches(context, plan, at)
  const silences = await tellEndedSilences(context, plan, state.unnotified, at)
  return recordRound(context, state, plan, silences, at)
}
