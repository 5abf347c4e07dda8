export { type ClickHouse, type ClickHouseSettings, createClickHouse } from './client.ts'
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
export { countEvents, type EventCounts, insertEvents, type RawEventRow } from './tables/events.ts'
export {
  type CpiValueRow,
  dueRevisits,
  insertOutcomes,
  loadInteractionEvents,
  maxEventTimeBefore,
  type OutcomeRow,
  partitionTime,
  queryCpiValues,
  recordWatermarks,
  type StoredEvent,
} from './tables/outcomes.ts'
export {
  countRejectedEvents,
  insertRejectedEvents,
  listRejectedEvents,
  type RejectedEventRow,
  type RejectedEventView,
} from './tables/rejected-events.ts'
