import kafkajs from 'kafkajs'

// kafkajs is CommonJS; its error classes are not among the names Node exposes to ESM imports.
const { KafkaJSError } = kafkajs

/**
 * The one error class the Kafka adapter throws. `retriable` says whether the same operation
 * may succeed later (broker unavailable, leader moved, timeouts) or never will (bad topic
 * name, message too large, authorization).
 */
export class KafkaAdapterError extends Error {
  readonly retriable: boolean
  readonly code: string | undefined

  constructor(message: string, options: { retriable: boolean; code?: string; cause?: unknown }) {
    super(message, { cause: options.cause })
    this.name = 'KafkaAdapterError'
    this.retriable = options.retriable
    this.code = options.code
  }
}

// kafkajs marks some permanent conditions retriable at the protocol level, and gives up on
// transient ones after its own retries: these names override its flag.
const PERMANENT = new Set([
  'KafkaJSNonRetriableError',
  'KafkaJSInvalidVarIntError',
  'KafkaJSInvalidLongError',
  'KafkaJSAggregateError',
])
const TRANSIENT = new Set([
  'KafkaJSConnectionError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSConnectionClosedError',
  'KafkaJSTimeout',
])

export function toKafkaError(error: unknown, what: string): KafkaAdapterError {
  if (error instanceof KafkaAdapterError) return error
  if (error instanceof KafkaJSError) {
    const protocolType = (error as { type?: string }).type
    const retriable = TRANSIENT.has(error.name) || (!PERMANENT.has(error.name) && error.retriable)
    return new KafkaAdapterError(`${what}: ${error.message}`, {
      retriable,
      code: protocolType ?? error.name,
      cause: error,
    })
  }
  const message = error instanceof Error ? error.message : String(error)
  return new KafkaAdapterError(`${what}: ${message}`, { retriable: false, cause: error })
}

/** True for errors any adapter marks retriable (`retriable: true`), false for anything else. */
export function isRetriable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true
}
