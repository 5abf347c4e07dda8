import { isSilenced, type Silence } from '@cpi/alerting'
import type { StoredAlert } from '@cpi/clickhouse'
import { firedSilenced, toStored } from './records.ts'
import type { Context, Plan, State } from './round-state.ts'

/** What the record stage works with: the receivers' names, and the writes of the rows and the checkpoint. */
export type RecordInput = Pick<Context, 'receivers' | 'insertAlerts' | 'writeCheckpoint'>

/**
 * The record stage: the plan's transitions as rows (a notification under a silence in force at
 * `at` names it, and is told to nobody), recorded, then the checkpoint, then the plan made the
 * state. Recorded before anything is sent (the table is the outbox) and before the state
 * changes: a failed write leaves the state as it was, so the next round works out and records
 * the same rows. Returns the rows recorded.
 */
export async function recordRound(
  input: RecordInput,
  state: State,
  plan: Plan,
  silences: readonly Silence[],
  at: number,
): Promise<StoredAlert[]> {
  const stored = plan.transitions.map((transition) =>
    toStored(transition, transition.notify ? isSilenced(transition.alert.labels, silences, at) : [], [
      ...input.receivers,
    ]),
  )
  await input.insertAlerts(stored)
  if (plan.lastStep !== undefined) await input.writeCheckpoint(plan.lastStep)
  commit(state, plan, stored)
  return stored
}

/** The recorded round becomes the state. */
function commit(state: State, plan: Plan, stored: readonly StoredAlert[]): void {
  state.alerts = plan.alerts
  state.progress = plan.progress
  state.watermark = plan.watermark
  state.through = plan.lastStep ?? plan.through
  for (const row of stored)
    if (firedSilenced(row)) state.unnotified.add(row.fingerprint)
    else state.unnotified.delete(row.fingerprint)
}
