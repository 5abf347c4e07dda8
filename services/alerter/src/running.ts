import type { RunningService } from '@cpi/service'
import { type Alerter, pipelineCheck } from './alerter-service.ts'

/** The alerter in the shape every service shares: readiness names a stalled partition; its rounds stop first. */
export const alerterRunning = (alerter: Alerter): RunningService => ({
  ready: [pipelineCheck(alerter)],
  drain: [{ name: 'alerter', run: () => alerter.stop() }],
  message: 'alerter running',
})
