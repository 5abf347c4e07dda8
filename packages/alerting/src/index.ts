export { type BreachCount, type BreachPolicy, type BreachWatchedCpi, breachConditions } from './breaches.ts'
export {
  type AlertingLevel,
  type BurnTier,
  burnRate,
  burnTiers,
  type Counts,
  errorRate,
  formatFactor,
  formatPercent,
  type Objective,
  type Severity,
} from './burn-tiers.ts'
export {
  type AlertAnnotations,
  type AlertLabels,
  type AlertLinks,
  type AlertName,
  type AlertPolicy,
  type BaselineCounts,
  type Condition,
  type ConditionDetail,
  type CpiUnderEvaluation,
  defaultAlertPolicy,
  type EvaluationInput,
  evaluate,
  type Rule,
  type TierMeasurement,
  type WindowMeasurement,
} from './conditions.ts'
export { formatDuration } from './format.ts'
export { fingerprint, type Labels } from './labels.ts'
export { type AlertRecord, type AlertState, advance, silenceEnded, type Transition } from './lifecycle.ts'
export { allSegment, MINUTE_MS, type MinuteCounts, MinuteSeries, type Segment } from './minute-series.ts'
export {
  groupTransitions,
  idempotencyKey,
  type NotificationGroup,
  type NotificationStatus,
  type SlackBlock,
  type SlackPayload,
  slackPayload,
  type WebhookAlert,
  type WebhookPayload,
  webhookPayload,
} from './notifications.ts'
export {
  isSilenced,
  type Matcher,
  type ParsedSilence,
  parseSilence,
  type Silence,
  type SilenceError,
} from './silences.ts'
export {
  alertingWatermark,
  type PartitionProgress,
  type PartitionWatermark,
  partitionKey,
  progressFromAlerts,
  stallConditions,
  trackProgress,
} from './stalls.ts'
