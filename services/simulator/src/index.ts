export {
  ACCEPTANCE_BUCKETS,
  type AcceptanceBucket,
  type AnalyticsQuery,
  type Counts,
  churnByResolution,
  type ExperimentArm,
  experimentArms,
  type FollowUpCounts,
  type GroupCounts,
  KPI_FOLLOW_UP_MS,
  quoteAcceptanceByBucket,
  repeatOrderByDelivery,
} from './analytics-truth.ts'
export type {
  CallFact,
  CheckoutEnd,
  CheckoutFact,
  DeliveryFact,
  Fact,
  InteractionFact,
  Kpi,
  QuoteFact,
  SurveyFact,
  TicketFact,
  TicketStep,
  ValueFact,
} from './facts.ts'
export { type SimulatedEvent, type Simulation, simulate } from './generate.ts'
export {
  type CustomerValueTruth,
  csat,
  customerValue,
  fastQuote,
  firstReply2h,
  firstTimeResolution,
  type GroundTruth,
  groundTruth,
  type InteractionOutcome,
  nothingBroke,
  onTimeInFull,
  outcomesOf,
  paymentFlexibility,
  phoneAnswer20s,
  type TruthRow,
  valueDelivered,
} from './ground-truth.ts'
export { sendAll, startPlayer } from './player.ts'
export { Random } from './random.ts'
export { type CpiName, parseScenario, type Scenario, scenarioSchema } from './scenario.ts'
export { startSimulator } from './simulator-service.ts'
export { type EventSink, httpSink, kafkaSink } from './sinks.ts'
export {
  type SlaCalendar,
  type SlaPeriod,
  type Span,
  workingSpans,
} from './sla-clock.ts'
export {
  SLA_AS_OF,
  SLA_CALENDARS,
  SLA_CPIS,
  SLA_FROM,
  SLA_REGION_CALENDARS,
  type SlaCoverage,
  type SlaCpiName,
  type SlaOutcome,
  type SlaScenario,
  type SlaStep,
  type SlaTicketFact,
  type SlaWindowTruth,
  slaCatalog,
  slaClockEvent,
  slaEvents,
  slaOutcome,
  slaScenario,
  slaWindowKey,
  slaWindows,
  slaWorkingTime,
} from './sla-scenario.ts'
