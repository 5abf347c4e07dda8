export { type Alerter, pipelineCheck, type StalledPartition, startAlerter } from './alerter-service.ts'
export { backoffMs, createOutbox, type Receiver } from './delivery.ts'
export { evaluateSteps, ruleSets, stepsBetween } from './evaluation.ts'
export { alerterRunning } from './running.ts'
