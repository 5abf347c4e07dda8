export {
  type ClickHouse,
  type ClickHouseSettings,
  createClickHouse,
  onSecondLane,
  type WriteLane,
} from './client.ts'
export { type EngineHttpServer, startEngineHttpServer } from './engine-http-server.ts'
export { ClickHouseAdapterError, toClickHouseError } from './errors.ts'
export {
  loadMigrations,
  type Migration,
  type MigrationReport,
  migrate,
  migrateToLatest,
  parseMigration,
  splitStatements,
} from './migrations.ts'
export {
  type Connection,
  defineCommand,
  defineInsert,
  defineQuery,
  defineTabSeparatedInsert,
  observeStatements,
  type RowMapping,
  type StatementObserver,
  type StatementRun,
} from './query.ts'
export {
  applyRetention,
  type RetentionReport,
  type RetentionSettings,
  retentionTables,
  tableTtl,
  ttlExpression,
} from './retention.ts'
export {
  type AlertState as StoredAlertState,
  type DeliveryRow,
  insertAlerts,
  listAlerts,
  listAlertTransitions,
  listSilences,
  readCheckpoint,
  recordDelivery,
  type StoredAlert,
  type StoredSilence,
  settledDeliveries,
  upsertSilence,
  writeCheckpoint,
} from './tables/alerts.ts'
export {
  type ExperimentArmRow,
  type KpiCount,
  type LinkGrouping,
  type LinkRow,
  type PerceptionRow,
  queryExperimentArms,
  queryLinkage,
  queryPerception,
  type Range as AnalyticsRange,
} from './tables/analytics.ts'
export {
  type BreachingCount,
  type BreachingInteraction,
  type BreachingQuery,
  queryBreaching,
} from './tables/breaching.ts'
export {
  type CpiPoint,
  type MinuteCountRow,
  type PartitionFreshness,
  queryCpiSeries,
  queryCpiWindows,
  queryLastOutcomeTimes,
  queryMinuteCounts,
  queryWatermarks,
  type SeriesQuery,
  wholeMinutes,
} from './tables/cpi-series.ts'
export { type CpiTotals, queryCpiTotals } from './tables/cpi-totals.ts'
export {
  type CustomerCredit,
  type CustomerValueQuery,
  type CustomerValueTotal,
  isKnownCustomer,
  queryCustomerCredits,
  queryCustomerValueTotals,
} from './tables/customer-value.ts'
export {
  type BeyondHorizon,
  countEvents,
  countEventsBeyondHorizon,
  type EventCounts,
  includeEventsBeyondHorizon,
  insertEvents,
  interactionsStartedBetween,
  type RawEventRow,
} from './tables/events.ts'
export {
  type CpiValueRow,
  insertOutcomes,
  loadEventCopies,
  maxEventTimeBefore,
  type OutcomePlacement,
  type OutcomeRow,
  outcomePlacements,
  partitionTime,
  pendingRevisits,
  queryCpiValues,
  recordedWatermarks,
  recordWatermarks,
  type StoredEvent,
} from './tables/outcomes.ts'
export {
  addRowCounts,
  type CountedRow,
  emptyCounts,
  isEmptyCounts,
  latencyHistogramKey,
  minuteStart,
  type PartitionMinute,
  type PartitionRollupRow,
  partitionMinuteKey,
  partitionMinutesToRepair,
  type RollupCounts,
  readPartitionRollups,
  rowDimensions,
} from './tables/partition-rollups.ts'
export {
  countRejectedEvents,
  insertRejectedEvents,
  listRejectedEvents,
  type RejectedEventRow,
  type RejectedEventView,
} from './tables/rejected-events.ts'
export { createRollupCache, type RollupCache } from './tables/rollup-cache.ts'
export {
  followCoarserGrains,
  histogramQuantiles,
  MINUTE_MS,
  minutesOf,
  type RollupMinute,
  rebuildRollups,
  refreshRollups,
  writeMinuteRollups,
} from './tables/rollups.ts'
