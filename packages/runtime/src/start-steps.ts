import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '@cpi/logger'

/** The wait before attempt `attempt` (1, 2, …) of a start-up step: 1 s doubling, at most 30 s. */
export const startBackoffMs = (attempt: number): number => Math.min(30_000, 500 * 2 ** Math.min(attempt, 6))

/**
 * Runs start-up steps in order in the background, retrying the failed one with backoff until it
 * succeeds or `stopping()` says to give up: a service whose Kafka is not there yet (or is
 * restarting) keeps trying instead of failing the process, and its readiness says what is down
 * meanwhile. Resolves true once every step ran, false when stopped first.
 */
export async function runStartSteps(
  steps: readonly (() => Promise<unknown>)[],
  options: { logger: Logger; what: string; stopping: () => boolean; wait?: (ms: number) => Promise<unknown> },
): Promise<boolean> {
  const wait = options.wait ?? ((ms: number) => sleep(ms))
  let step = 0
  for (let attempt = 1; step < steps.length && !options.stopping(); attempt++) {
    try {
      await (steps[step] as () => Promise<unknown>)()
      step++
      attempt = 0
    } catch (error) {
      const delay = startBackoffMs(attempt)
      options.logger.warn({ err: error, retryInMs: delay }, `${options.what} could not start yet; retrying`)
      await wait(delay)
    }
  }
  return step === steps.length
}
