import { fileURLToPath } from 'node:url'

/** The numbered ClickHouse DDL migrations (`NNNN_name.sql`), applied in order by @cpi/clickhouse. */
export const clickhouseMigrationsDir = fileURLToPath(new URL('../clickhouse/migrations/', import.meta.url))

export {
  boundDeadLetterRaw,
  boundedDeadLetter,
  type DeadLetter,
  deadLetterHeaders,
  decodeDeadLetterHeaders,
  encodeDeadLetterHeaders,
  type RejectOrigin,
} from './dead-letter.ts'
export {
  checkoutChannels,
  checkoutStages,
  dataSchemas,
  type EventType,
  eventTypes,
  quoteChannels,
  ticketChannels,
  valueKinds,
} from './events/data.ts'
export { type CloudEvent, cloudEventSchema, type EventOf, schemaFor } from './events/envelope.ts'
export { exampleEvents } from './events/examples.ts'
export { jsonErrorOffset } from './events/json-error-position.ts'
export {
  defaultLimits,
  describe,
  type FieldError,
  formatPath,
  parseAndValidate,
  parseJson,
  type RejectReason,
  rejectReasons,
  type ValidateOptions,
  type Validation,
  type ValidationLimits,
  validateEvent,
} from './events/validate.ts'
