import { ClickHouseError } from '@clickhouse/client'

/**
 * The one error class the ClickHouse adapter throws. Callers decide on `retriable`, never on
 * message text: a retriable error is worth the same request again after a pause (network,
 * overload, timeouts); a permanent one (bad SQL, bad data, missing table) is not.
 */
export class ClickHouseAdapterError extends Error {
  readonly retriable: boolean
  /** ClickHouse's error name (`UNKNOWN_TABLE`) or a system code (`ECONNREFUSED`), when known. */
  readonly code: string | undefined

  constructor(message: string, options: { retriable: boolean; code?: string; cause?: unknown }) {
    super(message, { cause: options.cause })
    this.name = 'ClickHouseAdapterError'
    this.retriable = options.retriable
    this.code = options.code
  }
}

// Server error names that mean "try again later", not "your request is wrong".
const RETRIABLE_SERVER_ERRORS = new Set([
  'TIMEOUT_EXCEEDED',
  'SOCKET_TIMEOUT',
  'NETWORK_ERROR',
  'TOO_MANY_SIMULTANEOUS_QUERIES',
  'TOO_MANY_PARTS',
  'MEMORY_LIMIT_EXCEEDED',
  'TABLE_IS_READ_ONLY',
  'ALL_CONNECTION_TRIES_FAILED',
  'KEEPER_EXCEPTION',
  'ABORTED',
  'QUERY_WAS_CANCELLED',
  'UNEXPECTED_PACKET_FROM_SERVER',
  'CANNOT_SCHEDULE_TASK',
])

const RETRIABLE_SYSTEM_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
])

/** Maps anything the client or the engine throws to a ClickHouseAdapterError. */
export function toClickHouseError(error: unknown, what: string): ClickHouseAdapterError {
  if (error instanceof ClickHouseAdapterError) return error
  if (error instanceof ClickHouseError) {
    return new ClickHouseAdapterError(`${what}: ${error.message}`, {
      retriable: RETRIABLE_SERVER_ERRORS.has(error.type ?? ''),
      code: error.type ?? error.code,
      cause: error,
    })
  }
  const code = systemCode(error)
  const message = error instanceof Error ? error.message : String(error)
  const timedOut = error instanceof Error && /timeout/i.test(error.name)
  return new ClickHouseAdapterError(`${what}: ${message}`, {
    retriable: timedOut || (code !== undefined && RETRIABLE_SYSTEM_ERRORS.has(code)),
    ...(code === undefined ? {} : { code }),
    cause: error,
  })
}

function systemCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    current = current.cause
  }
  return undefined
}
