import { isSilenced, type Silence, silenceEnded } from '@cpi/alerting'
import type { Context, Plan } from './round-state.ts'

/** What the silence stage works with: the read of the silences in force. */
export type SilenceInput = Pick<Context, 'silences'>

/**
 * The silence stage: firings told to nobody (`unnotified`) whose silences have all ended at
 * `at` are told now, unless this round changed them. Returns the silences in force, which the
 * record stage marks the round's notifications with.
 */
export async function tellEndedSilences(
  input: SilenceInput,
  plan: Plan,
  unnotified: ReadonlySet<string>,
  at: number,
): Promise<readonly Silence[]> {
  const silences = await input.silences(at)
  const changed = new Set(plan.transitions.map((transition) => transition.fingerprint))
  for (const fingerprint of unnotified) {
    const alert = plan.alerts.get(fingerprint)
    if (alert?.state !== 'firing' || changed.has(fingerprint)) continue
    if (isSilenced(alert.labels, silences, at).length > 0) continue
    const transition = silenceEnded(alert)
    plan.alerts.set(fingerprint, transition.alert)
    plan.transitions.push(transition)
  }
  return silences
}
